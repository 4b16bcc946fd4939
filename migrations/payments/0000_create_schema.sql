CREATE SCHEMA "payments";
