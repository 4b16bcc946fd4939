CREATE SCHEMA "transfers";
