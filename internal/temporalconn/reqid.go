package temporalconn

import (
	"context"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/internal/reqid"
)

// requestIDHeader is the Temporal header field that carries a request id.
const requestIDHeader = "cventsync-request-id"

// RequestIDPropagator carries the request id (internal/reqid) from the
// context of a workflow start or signal into the workflow, and from the
// workflow into its activities and child workflows, so their log lines name
// the request that started them. Set it in client.Options.ContextPropagators.
func RequestIDPropagator() workflow.ContextPropagator { return requestIDPropagator{} }

// WorkflowRequestID returns the request id a workflow's context carries, or "".
func WorkflowRequestID(ctx workflow.Context) string {
	id, _ := ctx.Value(reqid.ContextKey).(string)
	return id
}

type requestIDPropagator struct{}

func (requestIDPropagator) Inject(ctx context.Context, w workflow.HeaderWriter) error {
	return injectRequestID(reqid.From(ctx), w)
}

func (requestIDPropagator) InjectFromWorkflow(ctx workflow.Context, w workflow.HeaderWriter) error {
	return injectRequestID(WorkflowRequestID(ctx), w)
}

func injectRequestID(id string, w workflow.HeaderWriter) error {
	if id == "" {
		return nil
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(id)
	if err != nil {
		return err
	}
	w.Set(requestIDHeader, p)
	return nil
}

func (requestIDPropagator) Extract(ctx context.Context, r workflow.HeaderReader) (context.Context, error) {
	if id := extractRequestID(r); id != "" {
		return reqid.With(ctx, id), nil
	}
	return ctx, nil
}

func (requestIDPropagator) ExtractToWorkflow(ctx workflow.Context, r workflow.HeaderReader) (workflow.Context, error) {
	if id := extractRequestID(r); id != "" {
		return workflow.WithValue(ctx, reqid.ContextKey, id), nil
	}
	return ctx, nil
}

func extractRequestID(r workflow.HeaderReader) string {
	p, ok := r.Get(requestIDHeader)
	if !ok {
		return ""
	}
	var id string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &id); err != nil || !reqid.Valid(id) {
		return ""
	}
	return id
}
