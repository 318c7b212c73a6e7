package mapping

import "time"

// earliestSourceTime is the oldest messageTime taken at its word; anything
// earlier (year 0000, the Unix epoch) is a sender's placeholder.
var earliestSourceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// SourceTime is the time that orders a delivery's changes against others
// (newest wins): Cvent's messageTime, or the time it was received when Cvent
// sent none or one that cannot be true (before 2000, or later than receivedAt
// plus maxSkew). Trusting a year-9999 messageTime would lock the attendee
// against every later change, so such a time is replaced and reported as
// clamped.
func SourceTime(messageTime, receivedAt time.Time, maxSkew time.Duration) (t time.Time, clamped bool) {
	switch {
	case messageTime.IsZero():
		return receivedAt, false
	case messageTime.Before(earliestSourceTime), messageTime.After(receivedAt.Add(maxSkew)):
		return receivedAt, true
	}
	return messageTime, false
}
