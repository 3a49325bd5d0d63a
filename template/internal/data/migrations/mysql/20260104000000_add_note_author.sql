-- Who wrote each note: the subject of the token it was created with; '' for
-- notes written without authentication (every note before this migration).
ALTER TABLE notes ADD COLUMN author VARCHAR(255) NOT NULL DEFAULT '';
