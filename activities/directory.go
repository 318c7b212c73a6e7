// Package activities holds cventsync's Temporal activities: the I/O steps
// workflows orchestrate. Activities are methods on structs that hold their
// dependencies, so workflows refer to them without string names.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/store"
)

// Directory applies Cvent data to the attendee directory in PostgreSQL.
type Directory struct {
	Store  *store.Store
	Logger *slog.Logger
}

// ApplyDeliveryInput names the stored delivery to apply.
type ApplyDeliveryInput struct {
	DeliveryID int64
}

// ApplyDeliveryResult is what applying did.
type ApplyDeliveryResult = ingest.Result

// ErrTypeMalformed is the application error type for a delivery whose body
// cannot be applied; retrying cannot help.
const ErrTypeMalformed = "MalformedDelivery"

// ApplyDelivery loads a stored delivery and applies it, together with its
// "processed" mark, in one transaction. Re-running it is harmless: records
// only move forward in Cvent time.
func (d *Directory) ApplyDelivery(ctx context.Context, in *ApplyDeliveryInput) (*ApplyDeliveryResult, error) {
	del, err := d.Store.GetDelivery(ctx, in.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("delivery %d does not exist", in.DeliveryID), "NotFound", err)
	}
	if err != nil {
		return nil, err
	}
	integ, err := d.Store.GetIntegration(ctx, del.IntegrationID)
	if err != nil {
		return nil, fmt.Errorf("load integration: %w", err)
	}
	cfg, err := ingest.MappingConfig(integ.Settings)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadSettings", err)
	}
	var result *ingest.Result
	err = d.Store.ApplyDelivery(ctx, del.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		r, err := ingest.Apply(ctx, tx, ingest.Delivery{
			ID: del.ID, IntegrationID: del.IntegrationID, Body: del.Body, ReceivedAt: del.ReceivedAt, Mapping: cfg,
		})
		result = r
		return r, err
	})
	if errors.Is(err, cventpush.ErrMalformed) {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeMalformed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("apply delivery %d: %w", del.ID, err)
	}
	activity.GetLogger(ctx).Info("delivery applied", "deliveryId", del.ID, "eventType", result.EventType,
		"items", result.Items, "written", result.Written, "stale", result.Stale)
	return result, nil
}

// MarkDeliveryFailedInput says which delivery failed and why.
type MarkDeliveryFailedInput struct {
	DeliveryID int64
	Reason     string
}

// MarkDeliveryFailed records a delivery that could not be applied, so
// operators see it in the delivery log and can replay it.
func (d *Directory) MarkDeliveryFailed(ctx context.Context, in *MarkDeliveryFailedInput) error {
	return d.Store.MarkFailed(ctx, in.DeliveryID, in.Reason)
}

// ApplyDeliveriesInput names stored deliveries to apply in order.
type ApplyDeliveriesInput struct {
	DeliveryIDs []int64
}

// ApplyDeliveriesResult is what applying a batch did.
type ApplyDeliveriesResult struct {
	Applied    int
	Failed     int
	Written    int
	Stale      int
	InviteeIDs []string
}

// ApplyDeliveries applies a batch of deliveries, each in its own
// transaction, so one malformed delivery does not hold back the others. A
// burst of webhooks becomes a few of these instead of one workflow each.
func (d *Directory) ApplyDeliveries(ctx context.Context, in *ApplyDeliveriesInput) (*ApplyDeliveriesResult, error) {
	out := &ApplyDeliveriesResult{}
	for i, id := range in.DeliveryIDs {
		r, err := d.ApplyDelivery(ctx, &ApplyDeliveryInput{DeliveryID: id})
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			if ferr := d.Store.MarkFailed(ctx, id, err.Error()); ferr != nil {
				return nil, ferr
			}
			out.Failed++
			continue
		}
		if err != nil {
			return nil, err // transient: the whole batch is retried; applying is idempotent
		}
		out.Applied++
		out.Written += r.Written
		out.Stale += r.Stale
		if len(out.InviteeIDs)+len(r.InviteeIDs) <= ingest.MaxListedInvitees {
			out.InviteeIDs = append(out.InviteeIDs, r.InviteeIDs...)
		}
		activity.RecordHeartbeat(ctx, i)
	}
	return out, nil
}
