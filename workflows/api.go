// Package workflows holds cventsync's Temporal workflows. They only
// orchestrate: every business rule lives in internal/mapping, every I/O step
// in package activities.
package workflows

import (
	"fmt"
	"strings"
)

// TaskQueue is the default task queue gateway and worker share.
const TaskQueue = "cventsync"

// DeliveryWorkflowID names the workflow that processes one Cvent delivery.
// The message stub is Cvent's idempotency key, so a repeated delivery maps to
// the same workflow.
func DeliveryWorkflowID(integrationID, messageStub string) string {
	return fmt.Sprintf("delivery/%s/%s", integrationID, strings.ToLower(messageStub))
}

func itoa(n int64) string { return fmt.Sprintf("%d", n) }
