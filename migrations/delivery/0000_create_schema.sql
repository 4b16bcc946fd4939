CREATE SCHEMA "delivery";
