package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
)

func newRFPEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(RFP)
	env.RegisterActivity(&activities.RFP{})
	return env
}

type pullLog struct {
	mu    sync.Mutex
	calls []*activities.PullRFPInput
}

func (p *pullLog) add(in *activities.PullRFPInput) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, in)
}

// A burst of notifications makes one pull; those arriving while it runs
// make one more, and every notification is answered by one of them.
func TestRFPBurstCoalescesIntoOnePullAndNothingIsLost(t *testing.T) {
	env := newRFPEnv()
	var a *activities.RFP
	var log pullLog
	env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).After(3 * time.Second).Return(
		func(_ context.Context, in *activities.PullRFPInput) (*activities.PullRFPResult, error) {
			log.add(in)
			return &activities.PullRFPResult{ChangeType: "rfp.updated"}, nil
		})
	env.RegisterDelayedCallback(func() {
		for i := int64(1); i <= 5; i++ {
			env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: i, Type: "RFP_SEND", SupplierID: "S1"})
		}
	}, 0)
	// During the first pull.
	env.RegisterDelayedCallback(func() {
		for i := int64(6); i <= 9; i++ {
			env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: i, Type: "RESPONSE_SUBMIT_PROPOSAL", SupplierID: "S1"})
		}
	}, time.Second)
	env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", IdleTimeout: time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, log.calls, 2, "one pull for the burst, one for what came during it")
	require.Equal(t, []int64{1, 2, 3, 4, 5}, log.calls[0].NotificationIDs)
	require.Equal(t, []int64{6, 7, 8, 9}, log.calls[1].NotificationIDs)
	require.Equal(t, []string{"S1"}, log.calls[0].SupplierIDs)
}

// A closed RFP's workflow ends after the quiet period; an open one waits
// for the idle timeout; a notification in between restarts the wait.
func TestRFPEndsAfterClosedAndQuiet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		closed bool
		want   time.Duration
	}{{"closed", true, 10 * time.Minute}, {"open", false, 24 * time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			env := newRFPEnv()
			var a *activities.RFP
			pulls := 0
			env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).Return(
				func(context.Context, *activities.PullRFPInput) (*activities.PullRFPResult, error) {
					pulls++
					return &activities.PullRFPResult{Closed: tc.closed}, nil
				})
			start := env.Now()
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 1}) }, 0)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 2}) }, 5*time.Minute)
			env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", QuietAfterClose: 10 * time.Minute})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, 2, pulls)
			require.Equal(t, 5*time.Minute+tc.want, env.Now().Sub(start).Round(time.Second))
		})
	}
}

// A refused pull (Cvent's 404) is recorded by the activity and answered;
// the workflow goes on and pulls again at the next notification.
func TestRFPRefusedPullDoesNotEndTheWorkflow(t *testing.T) {
	env := newRFPEnv()
	var a *activities.RFP
	pulls := 0
	env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).Return(
		func(context.Context, *activities.PullRFPInput) (*activities.PullRFPResult, error) {
			pulls++
			if pulls == 1 {
				return &activities.PullRFPResult{Refused: "cvent 404: RFP not found"}, nil
			}
			return &activities.PullRFPResult{}, nil
		})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 1}) }, 0)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{}) }, time.Minute) // a refresh
	env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", IdleTimeout: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 2, pulls)
}

// After rfpPullsPerRun pulls the workflow continues as new, carrying the
// pending notifications and suppliers.
func TestRFPContinuesAsNew(t *testing.T) {
	env := newRFPEnv()
	var a *activities.RFP
	env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).After(time.Second).Return(&activities.PullRFPResult{}, nil)
	for i := 0; i <= rfpPullsPerRun; i++ {
		id := int64(i + 1)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: id, SupplierID: "S1"})
		}, time.Duration(i)*2*time.Second)
	}
	env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", IdleTimeout: time.Hour})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "got %v", err)
	var next RFPInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.True(t, next.Dirty)
	require.Equal(t, []int64{rfpPullsPerRun + 1}, next.Pending)
	require.Equal(t, []string{"S1"}, next.SupplierIDs)
}

// The cause of a third pull in a burst: signals of notifications that the
// first pull already answered (stored before it began, signalled after)
// made the RFP dirty again. Now they cause no pull; a newer one does.
func TestRFPLateNoticesOfAnsweredNotificationsCauseNoPull(t *testing.T) {
	env := newRFPEnv()
	var a *activities.RFP
	var log pullLog
	env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).After(time.Second).Return(
		func(_ context.Context, in *activities.PullRFPInput) (*activities.PullRFPResult, error) {
			log.add(in)
			return &activities.PullRFPResult{UpTo: 7}, nil // 1–7 were stored when it began
		})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 1, SupplierID: "S1"}) }, 0)
	// Signalled during and after the pull, but stored before it began.
	for i, at := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
		id := int64(5 + i)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: id, SupplierID: "S1"}) }, at)
	}
	env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", IdleTimeout: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, log.calls, 1, "notifications 5–7 were answered by the first pull")

	// The same with a notification stored after the pull began: one more pull.
	env = newRFPEnv()
	log = pullLog{}
	env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).After(time.Second).Return(
		func(_ context.Context, in *activities.PullRFPInput) (*activities.PullRFPResult, error) {
			log.add(in)
			return &activities.PullRFPResult{UpTo: 7}, nil
		})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 1, SupplierID: "S1"}) }, 0)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 6, SupplierID: "S1"}) }, 2*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 8, SupplierID: "S1"}) }, 3*time.Second)
	env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", IdleTimeout: time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, log.calls, 2)
	require.Equal(t, []int64{8}, log.calls[1].NotificationIDs, "6 was answered; 8 was not")
}

func TestNeedsPull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      RFPNotice
		upTo   int64
		pulled []string
		want   bool
	}{
		{"stored after the last pull began", RFPNotice{NotificationID: 8, SupplierID: "S1"}, 7, []string{"S1"}, true},
		{"answered by the last pull", RFPNotice{NotificationID: 7, SupplierID: "S1"}, 7, []string{"S1"}, false},
		{"answered, no supplier named", RFPNotice{NotificationID: 3}, 7, nil, false},
		{"answered, but about a supplier not pulled", RFPNotice{NotificationID: 3, SupplierID: "S2"}, 7, []string{"S1"}, true},
		{"a refresh", RFPNotice{Type: "REFRESH"}, 7, []string{"S1"}, true},
		{"no pull yet", RFPNotice{NotificationID: 1, SupplierID: "S1"}, 0, nil, true},
	} {
		if got := needsPull(tc.n, tc.upTo, tc.pulled); got != tc.want {
			t.Errorf("%s: needsPull = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A run with PullInline pulls inline (a local activity) and needs no
// activity while the inline pull succeeds; when it does not (the account's
// pace is busy, Cvent fails), the same pull goes to the activity.
func TestRFPPullsInlineAndFallsBackToTheActivity(t *testing.T) {
	env := newRFPEnv()
	var a *activities.RFP
	var inline, activity pullLog
	env.OnActivity(a.PullRFPNow, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.PullRFPInput) (*activities.PullRFPResult, error) {
			inline.add(in)
			if len(in.NotificationIDs) > 0 && in.NotificationIDs[0] == 2 {
				return nil, activities.ErrWouldWait
			}
			return &activities.PullRFPResult{ChangeType: "rfp.received", UpTo: in.NotificationIDs[0]}, nil
		})
	env.OnActivity(a.PullRFP, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.PullRFPInput) (*activities.PullRFPResult, error) {
			activity.add(in)
			return &activities.PullRFPResult{ChangeType: "rfp.updated", UpTo: 2}, nil
		})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 1, SupplierID: "S1"}) }, 0)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RFPSignal, RFPNotice{NotificationID: 2, SupplierID: "S1"}) }, time.Minute)
	env.ExecuteWorkflow(RFP, &RFPInput{IntegrationID: "I", RFPID: "R", IdleTimeout: time.Hour, PullInline: true})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, inline.calls, 2, "each pull tries inline first")
	require.Len(t, activity.calls, 1, "only the pull the inline attempt could not make goes to the activity")
	require.Equal(t, []int64{2}, activity.calls[0].NotificationIDs)
}
