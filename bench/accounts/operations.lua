-- wrk script for the AccountDO benchmark. Environment:
--   BENCH_TOKEN     a service access token (scope accounts:operate)
--   BENCH_ACCOUNTS  a file with one account id per line; each request picks one at random
--   BENCH_MODE      "debit": POST a debit of 1 minor unit with a fresh operation id
--                   "noop":  GET the account's summary (same path, answered from memory)
--   BENCH_RUN       a prefix that makes this run's operation ids unique
--   BENCH_REPORT_LUA  report.lua, which prints one line "WRK_RESULT {json}" at the end

local token = os.getenv("BENCH_TOKEN")
local accounts_file = os.getenv("BENCH_ACCOUNTS")
local mode = os.getenv("BENCH_MODE") or "debit"
local run = os.getenv("BENCH_RUN") or "run"

local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

function init(args)
  accounts = {}
  for line in io.lines(accounts_file) do
    if #line > 0 then accounts[#accounts + 1] = line end
  end
  sequence = 0
  math.randomseed(os.time() * 1000 + thread_id * 7919)
  headers = { ["authorization"] = "Bearer " .. token, ["content-type"] = "application/json" }
end

function request()
  sequence = sequence + 1
  local account = accounts[math.random(#accounts)]
  if mode == "noop" then
    return wrk.format("GET", "/internal/v1/accounts/" .. account, headers)
  end
  local body = string.format(
    '{"kind":"debit","operationId":"%s-%d-%d","amount":"1","currency":"EUR"}', run, thread_id, sequence)
  return wrk.format("POST", "/internal/v1/accounts/" .. account .. "/operations", headers, body)
end

-- done(): the shared "WRK_RESULT" report.
dofile(os.getenv("BENCH_REPORT_LUA"))
