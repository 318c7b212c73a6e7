package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/cventsync/cventsync/activities"
)

func newParticipationEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Participation)
	env.RegisterActivity(&activities.Participation{})
	return env
}

// "N minutes after login": the write-back waits on a durable timer until the
// attendee is due, then writes; no write-back runs before that.
func TestParticipationWaitsForTheDueTime(t *testing.T) {
	env := newParticipationEnv()
	var a *activities.Participation
	start := env.Now()
	due := start.Add(10 * time.Minute)
	var calls []time.Time
	env.OnActivity(a.WriteBackDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ *activities.WriteBackInput) (*activities.WriteBackResult, error) {
			calls = append(calls, env.Now())
			if env.Now().Before(due) {
				return &activities.WriteBackResult{NextDue: due}, nil
			}
			return &activities.WriteBackResult{Calls: 1, Written: 1}, nil
		})
	// Stop the endless workflow once the second write-back has happened.
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 30*time.Minute)

	env.ExecuteWorkflow(Participation, &ParticipationInput{IntegrationID: "i"})

	require.Len(t, calls, 2, "one look at start, one when the timer fires")
	require.False(t, calls[1].Before(due), "the write-back ran at %v, before the due time %v", calls[1], due)
	require.Less(t, calls[1].Sub(due), time.Second)
}

// A kick for an attendee due now runs a write-back at once; a kick with an
// earlier due time moves the timer forward.
func TestParticipationKicks(t *testing.T) {
	env := newParticipationEnv()
	var a *activities.Participation
	start := env.Now()
	var calls []time.Duration
	env.OnActivity(a.WriteBackDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ *activities.WriteBackInput) (*activities.WriteBackResult, error) {
			calls = append(calls, env.Now().Sub(start))
			if len(calls) == 1 {
				return &activities.WriteBackResult{NextDue: start.Add(time.Hour)}, nil
			}
			return &activities.WriteBackResult{}, nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ParticipationSignal, ParticipationKick{DueNow: true})
	}, 5*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ParticipationSignal, ParticipationKick{NextDue: start.Add(20 * time.Minute)})
	}, 6*time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 50*time.Minute)

	env.ExecuteWorkflow(Participation, &ParticipationInput{IntegrationID: "i"})

	require.Len(t, calls, 3)
	require.InDelta(t, (5 * time.Minute).Seconds(), calls[1].Seconds(), 1, "kick due now")
	require.InDelta(t, (20 * time.Minute).Seconds(), calls[2].Seconds(), 1, "timer moved to the earlier due time")
}

// Cvent's daily quota parks the work until the reset, then resumes.
func TestParticipationParksOnDailyLimit(t *testing.T) {
	env := newParticipationEnv()
	start := env.Now()
	reset := start.Add(7 * time.Hour)
	calls := parkedOnFirstWriteBack(env, reset)
	env.RegisterDelayedCallback(func() {
		// Kicks do not wake a parked write-back early: Cvent would refuse it.
		env.SignalWorkflow(ParticipationSignal, ParticipationKick{DueNow: true})
		env.SignalWorkflow(ParticipationSignal, ParticipationKick{NextDue: start.Add(8 * time.Hour)})
	}, time.Hour)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 10*time.Hour)

	env.ExecuteWorkflow(Participation, &ParticipationInput{IntegrationID: "i"})

	require.Len(t, *calls, 2)
	require.False(t, (*calls)[1].Before(reset))
}

// An operator who knows Cvent takes calls again (the quota was raised)
// resumes a parked write-back at once; ordinary kicks still do not.
func TestParticipationResumesWhenTheOperatorSaysSo(t *testing.T) {
	env := newParticipationEnv()
	start := env.Now()
	reset := start.Add(7 * time.Hour)
	calls := parkedOnFirstWriteBack(env, reset)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ParticipationSignal, ParticipationKick{DueNow: true})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ParticipationSignal, ParticipationKick{DueNow: true, Resume: true})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 3*time.Hour)

	env.ExecuteWorkflow(Participation, &ParticipationInput{IntegrationID: "i"})

	require.Len(t, *calls, 2, "one write-back parked, one after the resume")
	require.WithinDuration(t, start.Add(2*time.Hour), (*calls)[1], time.Minute, "the write-back ran when the operator resumed it")
}

// parkedOnFirstWriteBack mocks the write-back: the first call finds Cvent's
// daily quota spent until reset, later ones write. It returns when each call
// was made.
func parkedOnFirstWriteBack(env *testsuite.TestWorkflowEnvironment, reset time.Time) *[]time.Time {
	var a *activities.Participation
	calls := &[]time.Time{}
	env.OnActivity(a.WriteBackDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ *activities.WriteBackInput) (*activities.WriteBackResult, error) {
			*calls = append(*calls, env.Now())
			if len(*calls) == 1 {
				return &activities.WriteBackResult{ParkedUntil: reset}, nil
			}
			return &activities.WriteBackResult{Written: 100}, nil
		})
	return calls
}
