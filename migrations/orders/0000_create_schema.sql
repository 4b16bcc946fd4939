CREATE SCHEMA "orders";
