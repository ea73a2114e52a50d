-- QA voice drift: the cosine similarity of a take's speaker embedding to its voice's (NULL when not
-- measured: no speaker model, or a voice without an embedding).
ALTER TABLE takes ADD COLUMN similarity REAL;
