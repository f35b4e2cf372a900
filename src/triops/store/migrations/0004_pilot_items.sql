-- Unscored pilot items: an exam may draw items that are shown like the others but never count
-- toward the score or the domain results. Attempts made before this column existed have none.
ALTER TABLE attempt_questions ADD COLUMN pilot BOOLEAN NOT NULL DEFAULT false;
