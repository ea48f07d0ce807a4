-- Phrase search must not match across the joins of the search vector (English | Spanish,
-- title | body). Each part after the first starts with a stop word of its language: it adds no
-- lexeme but a position, so "invoice archive" no longer matches a title "Invoice" followed by a
-- body "Archive it".
CREATE OR REPLACE FUNCTION thread_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."searchVector" :=
    setweight(to_tsvector('english', coalesce(NEW."title", '')), 'A') ||
    setweight(to_tsvector('spanish', 'de ' || coalesce(NEW."title", '')), 'A') ||
    setweight(to_tsvector('english', 'the ' || coalesce(NEW."body", '')), 'B') ||
    setweight(to_tsvector('spanish', 'de ' || coalesce(NEW."body", '')), 'B');
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION post_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."searchVector" :=
    setweight(to_tsvector('english', coalesce(NEW."body", '')), 'B') ||
    setweight(to_tsvector('spanish', 'de ' || coalesce(NEW."body", '')), 'B');
  RETURN NEW;
END $$;

-- Re-index what is already there.
UPDATE "Thread" SET "title" = "title";
UPDATE "Post" SET "body" = "body";
