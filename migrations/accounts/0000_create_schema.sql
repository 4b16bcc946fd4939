CREATE SCHEMA "accounts";
