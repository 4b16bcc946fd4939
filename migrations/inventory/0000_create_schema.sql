CREATE SCHEMA "inventory";
