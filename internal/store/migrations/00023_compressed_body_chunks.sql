-- +goose Up
-- The gateway compresses a streamed body's chunks itself (S2, a few ms a
-- chunk, about 6 times smaller for Cvent's JSON) before it stores them:
-- PostgreSQL then writes a sixth of the bytes and spends no time on its
-- own compression, which was most of a large sync's upload time. codec
-- says how a chunk is stored ('' for chunks stored before, as they came).
ALTER TABLE delivery_chunks ADD COLUMN codec text NOT NULL DEFAULT '';
ALTER TABLE delivery_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- +goose Down
ALTER TABLE delivery_chunks ALTER COLUMN data SET STORAGE EXTENDED;
ALTER TABLE delivery_chunks DROP COLUMN codec;
