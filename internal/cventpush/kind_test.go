package cventpush

import "testing"

// Cvent's name for a manual speaker sync is not documented: any event type
// that names one is processed as speakers; unknown types stay ignored.
func TestKindOfSpeakerManualSync(t *testing.T) {
	cases := []struct {
		eventType string
		want      Kind
	}{
		{"SpeakerManualSynced", KindSpeaker},
		{"SpeakerManualSync", KindSpeaker},
		{"SpeakersManualSynced", KindSpeaker},
		{"speakermanualsynced", KindSpeaker},
		{"ManualSyncSpeakers", KindSpeaker},
		{"SPEAKER_MANUAL_SYNCED", KindSpeaker},
		{"SpeakerCreated", KindSpeaker},
		{"SpeakerUpdated", KindSpeaker},
		{"SpeakerDeleted", KindSpeaker},
		{"AttendeeManualSynced", KindAttendee},
		{"SessionManualSynced", KindSession},
		{"EventManualSynced", KindIgnored},
		{"SpeakerRemovedFromSession", KindIgnored},
		{"ManualSynced", KindIgnored},
		{"SpeakerSynced", KindIgnored},
		{"", KindIgnored},
		{"SomethingNew", KindIgnored},
	}
	for _, c := range cases {
		if got := KindOf(c.eventType); got != c.want {
			t.Errorf("KindOf(%q) = %v, want %v", c.eventType, got, c.want)
		}
	}
}
