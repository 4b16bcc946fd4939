-- wrk script for the transfers benchmark: POST /v1/transfers through the gateway. Environment:
--   BENCH_TOKEN     the customer's access token (a real JWT from the auth service)
--   BENCH_ACCOUNTS  a file with one account id per line: the hot source first, then the others
--   BENCH_MODE      "uniform": a random pair of distinct accounts among the others
--                   "hot":     from the hot source to a random other account
--   BENCH_RUN       the run's tag: the transfers' description, and the prefix of their keys
--   BENCH_REPORT_LUA  report.lua, which prints one line "WRK_RESULT {json}" at the end

local token = os.getenv("BENCH_TOKEN")
local accounts_file = os.getenv("BENCH_ACCOUNTS")
local mode = os.getenv("BENCH_MODE") or "uniform"
local run = os.getenv("BENCH_RUN") or "run"

local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

function init(args)
  local all = {}
  for line in io.lines(accounts_file) do
    if #line > 0 then all[#all + 1] = line end
  end
  hot = all[1]
  others = {}
  for i = 2, #all do others[#others + 1] = all[i] end
  sequence = 0
  math.randomseed(os.time() * 1000 + thread_id * 7919)
end

function request()
  sequence = sequence + 1
  local from, to
  if mode == "hot" then
    from = hot
    to = others[math.random(#others)]
  else
    local a = math.random(#others)
    local b = math.random(#others - 1)
    if b >= a then b = b + 1 end
    from, to = others[a], others[b]
  end
  local headers = {
    ["authorization"] = "Bearer " .. token,
    ["content-type"] = "application/json",
    ["idempotency-key"] = string.format("%s-%d-%d", run, thread_id, sequence),
  }
  local body = string.format(
    '{"fromAccountId":"%s","toAccountId":"%s","amount":"1","currency":"EUR","description":"%s"}', from, to, run)
  return wrk.format("POST", "/v1/transfers", headers, body)
end

dofile(os.getenv("BENCH_REPORT_LUA"))
