-- A disabled user's tokens and sessions stop working at once (every check
-- of a credential joins `users` and reads this); their workstations, tokens
-- and history stay, and enabling the user again brings the tokens back.
ALTER TABLE users ADD COLUMN disabled_at TEXT COLLATE "C";
