package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/klauspost/compress/s2"
	"github.com/lib/pq"
)

// BodyChunkBytes is the size of the chunks a streamed body is stored in.
const BodyChunkBytes = 4 << 20

// StatusReceiving marks a delivery whose body is still being read; nothing
// acts on it until it is finished.
const StatusReceiving = "receiving"

// BodyWriter stores a delivery's body in chunks while it is read, so that a
// 190 MB manual sync is never held whole in memory. A full chunk is stored
// in the background while the next one fills (two chunks in memory at most),
// so the sender is not held up by each insert; the chunks' commits do not
// wait for the disk, as Finish's does, which makes them all durable before
// the delivery is acknowledged.
type BodyWriter struct {
	s     *Store
	ctx   context.Context
	id    int64
	seq   int
	buf   []byte
	spare []byte
	size  int64
	// inFlight, when not nil, answers the chunk being stored.
	inFlight chan error
	packed   []byte // the chunk being stored, compressed (one chunk is stored at a time)
}

// codecS2 marks a body chunk stored compressed as an S2 block
// (github.com/klauspost/compress/s2); chunks without a codec are stored as
// they came.
const codecS2 = "s2"

// BeginStreamedDelivery stores an empty delivery in the receiving state and
// returns the writer its body goes through.
func (s *Store) BeginStreamedDelivery(ctx context.Context, integrationID string) (*BodyWriter, error) {
	w := &BodyWriter{s: s, ctx: ctx, buf: make([]byte, 0, BodyChunkBytes)}
	err := s.db.GetContext(ctx, &w.id, `INSERT INTO deliveries (integration_id, body, status) VALUES ($1, '', $2) RETURNING id`,
		integrationID, StatusReceiving)
	if err != nil {
		return nil, fmt.Errorf("begin streamed delivery: %w", err)
	}
	return w, nil
}

// Write buffers p and stores every full chunk.
func (w *BodyWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+n]
		p, written = p[n:], written+n
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush hands the buffered chunk to the background once the previous one
// is stored, and goes on with the spare buffer.
func (w *BodyWriter) flush() error {
	if err := w.wait(); err != nil {
		return err
	}
	if len(w.buf) == 0 {
		return nil
	}
	chunk, seq := w.buf, w.seq
	w.seq++
	w.size += int64(len(chunk))
	if w.spare == nil {
		w.spare = make([]byte, 0, BodyChunkBytes)
	}
	w.buf, w.spare = w.spare[:0], nil
	done := make(chan error, 1)
	w.inFlight = done
	go func() {
		err := w.storeChunk(seq, chunk)
		w.spare = chunk[:0] // read by the writer only after done
		done <- err
	}()
	return nil
}

// wait waits for the chunk in flight, if any.
func (w *BodyWriter) wait() error {
	if w.inFlight == nil {
		return nil
	}
	err := <-w.inFlight
	w.inFlight = nil
	return err
}

// storeChunk compresses one chunk and inserts it in a transaction whose
// commit does not wait for the disk.
func (w *BodyWriter) storeChunk(seq int, data []byte) error {
	w.packed = s2.Encode(w.packed[:cap(w.packed)], data)
	err := w.s.inTx(w.ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(w.ctx, `SET LOCAL synchronous_commit TO off`); err != nil {
			return err
		}
		_, err := tx.ExecContext(w.ctx, `INSERT INTO delivery_chunks (delivery_id, seq, data, codec) VALUES ($1, $2, $3, $4)`,
			w.id, seq, w.packed, codecS2)
		return err
	})
	if err != nil {
		return fmt.Errorf("store body chunk %d of delivery %d: %w", seq, w.id, err)
	}
	return nil
}

// Abort removes the delivery: its body could not be read to the end (the
// sender gave up or was cut off), so nothing was acknowledged.
func (w *BodyWriter) Abort(ctx context.Context) {
	_ = w.wait()
	_, _ = w.s.db.ExecContext(context.WithoutCancel(ctx), `DELETE FROM deliveries WHERE id = $1`, w.id)
}

// Finish stores the last chunk and what was learned of the delivery, which
// becomes visible as d.Status. When the integration already holds a
// delivery with the same message stub, this one is removed and the existing
// one returned with duplicate = true.
func (w *BodyWriter) Finish(ctx context.Context, d *Delivery) (duplicate bool, err error) {
	// The last chunk, then the update, whose synchronous commit flushes the
	// log up to it: every chunk is on disk before the answer.
	if err := w.flush(); err != nil {
		return false, err
	}
	if err := w.wait(); err != nil {
		return false, err
	}
	w.buf, w.spare = nil, nil
	d.ID, d.BodySize, d.BodyChunks, d.Error = w.id, w.size, w.seq, CleanText(d.Error, 1024)
	if d.InviteeIDs == nil {
		d.InviteeIDs = pq.StringArray{}
	}
	if d.Flags == nil {
		d.Flags = pq.StringArray{}
	}
	err = w.s.db.GetContext(ctx, &d.ReceivedAt, `UPDATE deliveries SET event_type = $2, message_stub = $3, message_time = $4,
			item_count = $5, status = $6, error = $7, workflow_id = $8, invitee_ids = $9, large = $10, flags = $11,
			body_size = $12, body_chunks = $13
		WHERE id = $1 RETURNING received_at`,
		d.ID, d.EventType, d.MessageStub, d.MessageTime, d.ItemCount, d.Status, d.Error, d.WorkflowID, d.InviteeIDs, d.Large,
		d.Flags, d.BodySize, d.BodyChunks)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" { // the stub's unique index: a repeated delivery
		w.Abort(ctx)
		existing := &Delivery{}
		if err := w.s.db.GetContext(ctx, existing, `SELECT `+deliverySummaryColumns+` FROM deliveries
			WHERE integration_id = $1 AND message_stub = $2`, d.IntegrationID, d.MessageStub); err != nil {
			return true, fmt.Errorf("load duplicate delivery: %w", err)
		}
		*d = *existing
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish streamed delivery %d: %w", d.ID, err)
	}
	return false, nil
}

// OpenBody streams a delivery's body, from its chunks or its body column.
func (s *Store) OpenBody(ctx context.Context, d *Delivery) io.Reader {
	if d.BodyChunks == 0 {
		return bytes.NewReader(d.Body)
	}
	return &chunkReader{ctx: ctx, s: s, id: d.ID, chunks: d.BodyChunks}
}

// chunkReader reads a streamed body back one chunk at a time.
type chunkReader struct {
	ctx    context.Context
	s      *Store
	id     int64
	chunks int
	next   int
	cur    []byte
	buf    []byte // the current chunk, decompressed
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next >= r.chunks {
			return 0, io.EOF
		}
		var row struct {
			Data  []byte `db:"data"`
			Codec string `db:"codec"`
		}
		err := r.s.bulk.GetContext(r.ctx, &row, `SELECT data, codec FROM delivery_chunks WHERE delivery_id = $1 AND seq = $2`, r.id, r.next)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("delivery %d: body chunk %d is missing", r.id, r.next)
		}
		if err != nil {
			return 0, fmt.Errorf("read body chunk %d of delivery %d: %w", r.next, r.id, err)
		}
		switch row.Codec {
		case "":
			r.cur = row.Data
		case codecS2:
			n, err := s2.DecodedLen(row.Data)
			if err == nil {
				if cap(r.buf) < n {
					r.buf = make([]byte, n)
				}
				r.cur, err = s2.Decode(r.buf[:n], row.Data)
			}
			if err != nil {
				return 0, fmt.Errorf("decompress body chunk %d of delivery %d: %w", r.next, r.id, err)
			}
		default:
			return 0, fmt.Errorf("body chunk %d of delivery %d: unknown codec %q", r.next, r.id, row.Codec)
		}
		r.next++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// DeleteAbandonedUploads removes deliveries whose body stopped arriving
// before olderThan (the gateway died while reading it; the sender, never
// answered, sends it again).
func (s *Store) DeleteAbandonedUploads(ctx context.Context, olderThan time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE status = $1 AND received_at < $2`, StatusReceiving, olderThan)
	if err != nil {
		return 0, fmt.Errorf("delete abandoned uploads: %w", err)
	}
	return res.RowsAffected()
}
