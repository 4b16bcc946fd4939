-- External settlement accounts, one per supported currency: the counterpart of every deposit
-- and withdrawal, so the sum of all balances per currency is always zero. They belong to the
-- system (owner "system") and may go negative.
INSERT INTO "accounts"."accounts" ("id", "owner_id", "kind", "name", "currency") VALUES
  ('acc_01m85av1y6e8091a16m4f2wd3e', 'system', 'system', 'External settlement EUR', 'EUR'),
  ('acc_01m85av1y8e088e49td6jh1hfp', 'system', 'system', 'External settlement GBP', 'GBP'),
  ('acc_01m85av1y8e08syzeh0ycs0ttd', 'system', 'system', 'External settlement USD', 'USD'),
  ('acc_01m85av1y9eqraj5787w934swy', 'system', 'system', 'External settlement CHF', 'CHF'),
  ('acc_01m85av1y9eqrs6sanhq722yrk', 'system', 'system', 'External settlement JPY', 'JPY')
ON CONFLICT ("id") DO NOTHING;
