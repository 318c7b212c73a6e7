// Package simulator is an in-memory Cvent for one event: what cventsync
// reads and writes over Cvent's REST API and what Cvent pushes as webhooks,
// with Cvent's shapes and quirks (shared/cvent/FACTS.md). Tests start it
// in-process with httptest; `cventsync simulate` serves it so people can try
// cventsync without a Cvent sandbox.
//
//	sim := simulator.New(simulator.Config{Seed: 1, Attendees: 50000, Tier: "Standard"})
//	http.ListenAndServe(":8081", sim.Handler()) // API base URL: http://host:8081/ea
//	id, secret := sim.Credentials()             // for cvent.Config
//
// # Account
//
// New builds, deterministically from Config.Seed, an event with Attendees
// registrants (mostly Accepted, some Waitlisted and Cancelled, some guests
// with a primaryId; registration types "Atlantic Track", "EMEA Track",
// "Pacific Track", "Guest"), their contacts, sessions and enrollments,
// contact custom fields and event questions with answers. Config.Accounts
// adds further credentials, each with its own tier.
//
// # REST API
//
// Handler serves under /ea: POST /oauth2/token (Basic auth, tokens live
// Config.TokenTTL, 1 h by default), GET /attendees and POST /attendees/filter
// (filter "event.id eq '…' and status eq '…'", "id eq '…' or …", after=,
// expand=, limit 1–200 default 100, token), GET /attendees/{id},
// GET /events/{id}, GET|PATCH /contacts/{id}, POST /events/{id}/check-in
// (207, a status per item), DELETE /events/{id}/check-in/{attendeeId},
// POST /sessions/{id}/check-in, GET /events/{id}/registration-types,
// GET /custom-fields (category filter required), GET /event-questions,
// GET /sessions, GET /sessions/enrollment, GET /usage/tier. Errors carry
// Cvent's {code, message, target} body.
//
// Each account's tier is enforced like Cvent: a per-second bucket with a
// burst answers 429 "Too Many Requests", the daily quota 429 "Limit Exceeded"
// until 00:00 UTC on Config.Now's clock or ResetDay.
//
// # Faults
//
// SetFaults changes, at any time: ErrorRate (random 500/502/503), Latency,
// ExpireTokens (every token dies now), TokenLifetime (new tokens die early),
// RepeatPage (a nextToken that does not advance, once), TooManyRequests (the
// next N calls) and TooManyRequestsFor (a 429 storm), LimitExceeded, and
// BreakResponses (answers that break the spec, to prove the check works).
// Those fail before the endpoint acts. AfterEffects strike after it acted,
// per endpoint and call number (every Nth, or listed calls): ActionDrop
// closes the connection without an answer, ActionDelay answers after a
// delay (the client may have given up), Action500 answers 500, and
// ActionSlow holds the request before acting (a client that gave up still
// gets the change made). AfterEffects() counts what they did per endpoint,
// including answers held right now (calls in flight at the client) and held
// answers whose client hung up. ParseAfterEffect reads the flag form of
// `cventsync simulate --after-effect`; the handler also serves
// POST /_sim/faults (replace the faults with JSON), GET /_sim/faults and
// GET /_sim/stats, outside Cvent's API.
//
// # OpenAPI conformance
//
// With Config.OpenAPISpecPath (Cvent's openapi.yaml, OpenAPI 3.0.2, loaded
// once per process with kin-openapi) every request and answer is validated;
// Violations lists what broke the spec, and with StrictOpenAPI the answer is
// replaced by a 500 so the caller cannot miss it. The spec is mended in
// memory in one place only: required entries naming nested paths
// ("event.id") are dropped, as JSON Schema cannot express them.
//
// # State for tests
//
// Register (n generated registrants), AddAttendee, Update, Cancel change the
// account as a planner would; Attendees, Attendee, Contact, Sessions,
// Questions read it; Effects(endpoint) counts the changes each write
// endpoint made per attendee ("session/attendee" for session check-ins,
// contact id for PATCH /contacts), to assert "exactly once" — CheckIns,
// SessionCheckIns and ContactPatches are its views; Calls counts requests
// per endpoint ("GET /attendees"), RateLimited counts 429s. Session
// check-ins are listed by GET /sessions/attendance.
//
// # Webhooks
//
// SendWebhooks changes the account and posts live deliveries
// (InviteeOrGuestAccepted, InviteeOrGuestModified, InviteeOrGuestCancelled,
// InviteeSubstitutedInAnEvent in its snake_case shape, SessionCreated,
// SessionUpdated, SessionDeleted) at a chosen rate; SendRegistrations,
// SendModified, SendCancellation, SendSubstitution, SendSession and Post
// send single kinds; SendManualSync posts every attendee (or the given ones)
// in one AttendeeManualSynced; SendValidation is the activation GET. All use
// Cvent's envelope {eventType, messageTime, messageStub, message:[…]} with
// the raw token as Authorization, UPPER-CASE ids, "" for empty values,
// flags as bools, strings or numbers, mixed date formats and a varying key
// order. Each POST reports a Sent (status, latency, send time, messageStub,
// invitee ids) for latency benchmarks.
package simulator
