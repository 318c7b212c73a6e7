package worker

import (
	"context"
	"net/http"
	"reflect"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/internal/health"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/metrics/dbmetrics"
	"github.com/cventsync/cventsync/internal/reqid"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/temporalconn"
)

// HTTPHandler serves the worker's /metrics, /livez, /readyz and /healthz.
// st may be nil (no database gauges or check); metricsToken, when set,
// guards /metrics (see metrics.RequireToken).
func HTTPHandler(st *store.Store, c client.Client, metricsToken string) http.Handler {
	mux := http.NewServeMux()
	checks := &health.Checks{Temporal: c}
	if st != nil {
		checks.Database = st
		mux.Handle("GET /metrics", metrics.RequireToken(metricsToken, metrics.Handler(dbmetrics.NewCollector(st))))
	} else {
		mux.Handle("GET /metrics", metrics.RequireToken(metricsToken, metrics.Handler()))
	}
	mux.HandleFunc("GET /livez", health.Livez)
	mux.HandleFunc("GET /readyz", checks.Readyz)
	mux.HandleFunc("GET /healthz", health.Healthz)
	return mux
}

// LogFields is a worker interceptor that adds to the logger of every
// workflow and activity (workflow.GetLogger, activity.GetLogger) the ids its
// input names (integrationId, deliveryId, deliveryIds, inviteeId,
// destinationId) and the request id that started it, so one grep finds all
// the work done for an integration, a delivery or a request.
func LogFields() interceptor.WorkerInterceptor { return &logFields{} }

type logFields struct {
	interceptor.WorkerInterceptorBase
}

func (*logFields) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityFields{}
	i.Next = next
	return i
}

func (*logFields) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &workflowFields{}
	i.Next = next
	return i
}

type activityFields struct {
	interceptor.ActivityInboundInterceptorBase
	fields []any
}

func (a *activityFields) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	o := &activityLogger{in: a}
	o.Next = outbound
	return a.Next.Init(o)
}

func (a *activityFields) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	a.fields = inputFields(in.Args)
	if id := reqid.From(ctx); id != "" {
		a.fields = append(a.fields, reqid.LogKey, id)
	}
	return a.Next.ExecuteActivity(ctx, in)
}

type activityLogger struct {
	interceptor.ActivityOutboundInterceptorBase
	in *activityFields
}

func (o *activityLogger) GetLogger(ctx context.Context) log.Logger {
	l := o.Next.GetLogger(ctx)
	if len(o.in.fields) > 0 {
		return log.With(l, o.in.fields...)
	}
	return l
}

type workflowFields struct {
	interceptor.WorkflowInboundInterceptorBase
	fields []any
}

func (w *workflowFields) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	o := &workflowLogger{in: w}
	o.Next = outbound
	return w.Next.Init(o)
}

func (w *workflowFields) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	w.fields = inputFields(in.Args)
	if id := temporalconn.WorkflowRequestID(ctx); id != "" {
		w.fields = append(w.fields, reqid.LogKey, id)
	}
	return w.Next.ExecuteWorkflow(ctx, in)
}

type workflowLogger struct {
	interceptor.WorkflowOutboundInterceptorBase
	in *workflowFields
}

func (o *workflowLogger) GetLogger(ctx workflow.Context) log.Logger {
	l := o.Next.GetLogger(ctx)
	if len(o.in.fields) > 0 {
		return log.With(l, o.in.fields...)
	}
	return l
}

// logFieldNames maps input struct fields to log keys.
var logFieldNames = map[string]string{
	"IntegrationID": "integrationId",
	"DeliveryID":    "deliveryId",
	"DeliveryIDs":   "deliveryIds",
	"InviteeID":     "inviteeId",
	"DestinationID": "destinationId",
}

// inputFields reads the ids a workflow's or activity's first argument (a
// struct or a pointer to one) names. Reflection reads only the decoded
// input, so it is deterministic.
func inputFields(args []any) []any {
	if len(args) == 0 {
		return nil
	}
	v := reflect.ValueOf(args[0])
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []any
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key, ok := logFieldNames[t.Field(i).Name]
		if !ok || !t.Field(i).IsExported() {
			continue
		}
		f := v.Field(i)
		if f.IsZero() {
			continue
		}
		if f.Kind() == reflect.Slice && f.Len() > 20 {
			continue // a batch's ids are in its result, not on every line
		}
		out = append(out, key, f.Interface())
	}
	return out
}
