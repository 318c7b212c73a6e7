// Package pns owns what cventsync knows about Cvent's Supplier Network
// notifications (PNS) and the RFPs they are about: lenient decoding of a
// notification, its idempotency key, the pull client for both RFP APIs
// (legacy CSN with an API key, REST with OAuth2), and the RFP state rules
// (what a pulled RFP means for this supplier, which change it is, when it is
// closed) as plain functions.
//
// ASSUMPTION: Cvent has not published the notification's JSON schema
// (publicRfpEvent.json) nor its field names. Decode accepts the ids under the
// names a reasonable schema would use (camelCase, snake_case, nested
// objects) and the raw body is always kept, so a wrong guess can be fixed
// and replayed. The event type names are verified (Cvent's supplier guide).
package pns

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Notification is what cventsync reads from one PNS notification.
type Notification struct {
	// Type is the event type, e.g. RFP_SEND; "" when none was found.
	Type       string
	RFPID      string
	SupplierID string
	// ID is the notification's own id, when it carries one (assumed name).
	ID string
	// Time is when Cvent says the event happened; zero when not found.
	Time           time.Time
	Reason         string
	AttachmentIDs  []string
	ForwarderInfo  json.RawMessage
	MessageDetails json.RawMessage
}

// Field names tried, in order, for each value. Keys are compared without
// case, '_' or '-', so "rfp_id", "RfpId" and "rfp-id" are one name.
var (
	typeKeys     = []string{"eventType", "type", "notificationType", "rfpEventType", "event", "eventName", "action"}
	rfpKeys      = []string{"rfpId", "rfpStub", "rfpGuid", "rfp", "rfpUuid", "requestForProposalId"}
	supplierKeys = []string{"supplierId", "supplierStub", "supplier", "venueId", "propertyId", "supplierGuid"}
	idKeys       = []string{"notificationId", "eventId", "messageId", "messageStub", "id"}
	timeKeys     = []string{"eventDateTime", "eventTime", "dateTime", "timestamp", "time", "createdDateTime", "createdDate", "occurredAt", "messageTime", "lastModified"}
	// Objects a schema may wrap the event in.
	envelopeKeys = []string{"event", "data", "payload", "details", "eventDetails", "notification", "body", "message"}
)

// ErrNotJSON is returned for a body that is not a JSON object.
var ErrNotJSON = errors.New("notification is not a JSON object")

// Decode reads a notification leniently. A body that is a JSON object always
// decodes; missing values are left empty (the caller stores and acknowledges
// it). Only a body that is not a JSON object is an error.
func Decode(body []byte) (Notification, error) {
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil || root == nil {
		return Notification{}, ErrNotJSON
	}
	objs := []map[string]json.RawMessage{root}
	for _, k := range envelopeKeys {
		if raw, ok := lookup(root, k); ok {
			var inner map[string]json.RawMessage
			if json.Unmarshal(raw, &inner) == nil && inner != nil {
				objs = append(objs, inner)
			}
		}
	}
	var n Notification
	n.Type = strings.ToUpper(strings.TrimSpace(firstString(objs, typeKeys)))
	n.RFPID = firstString(objs, rfpKeys)
	n.SupplierID = firstString(objs, supplierKeys)
	n.ID = firstString(objs, idKeys)
	n.Reason = firstString(objs, []string{"reason", "responseReason", "cancellationReason"})
	if t := firstString(objs, timeKeys); t != "" {
		n.Time = parseTime(t)
	}
	for _, o := range objs {
		if raw, ok := lookup(o, "attachmentIds"); ok && n.AttachmentIDs == nil {
			var ids []any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if d.Decode(&ids) == nil {
				for _, id := range ids {
					if s := scalar(id); s != "" {
						n.AttachmentIDs = append(n.AttachmentIDs, s)
					}
				}
			}
		}
		if raw, ok := lookup(o, "forwarderInfo"); ok && n.ForwarderInfo == nil {
			n.ForwarderInfo = raw
		}
		if raw, ok := lookup(o, "messageDetails"); ok && n.MessageDetails == nil {
			n.MessageDetails = raw
		}
	}
	// A value we store as text must be text PostgreSQL takes.
	for _, p := range []*string{&n.Type, &n.RFPID, &n.SupplierID, &n.ID, &n.Reason} {
		*p = clean(*p)
	}
	return n, nil
}

// IdempotencyKey is the key under which a notification is stored once: Cvent
// retries a notification until it gets a 2xx, so a repeat must have no
// second effect. When the notification names its type, RFP and time, the
// key is those (with the supplier and its own id) — a retry re-serialized
// with other whitespace is still a repeat; otherwise it is the body's hash.
func IdempotencyKey(n Notification, body []byte) string {
	h := sha256.New()
	if n.Type != "" && n.RFPID != "" && (!n.Time.IsZero() || n.ID != "") {
		fmt.Fprintf(h, "v1\x00%s\x00%s\x00%s\x00%s\x00%s", n.Type, n.RFPID, n.SupplierID, n.Time.UTC().Format(time.RFC3339Nano), n.ID)
	} else {
		h.Write([]byte("body\x00"))
		h.Write(bytes.TrimSpace(body))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func norm(k string) string {
	k = strings.ToLower(k)
	return strings.NewReplacer("_", "", "-", "", ".", "").Replace(k)
}

func lookup(o map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := o[key]; ok {
		return v, true
	}
	want := norm(key)
	for k, v := range o {
		if norm(k) == want {
			return v, true
		}
	}
	return nil, false
}

// firstString finds the first key that holds a scalar, or an object with an
// id ({"rfp": {"id": "..."}}), in the objects in order.
func firstString(objs []map[string]json.RawMessage, keys []string) string {
	for _, o := range objs {
		for _, k := range keys {
			raw, ok := lookup(o, k)
			if !ok {
				continue
			}
			var v any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if d.Decode(&v) != nil {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				for _, ik := range []string{"id", "stub", "guid"} {
					for mk, mv := range m {
						if norm(mk) == ik {
							if s := scalar(mv); s != "" {
								return s
							}
						}
					}
				}
				continue
			}
			if s := scalar(v); s != "" {
				return s
			}
		}
	}
	return ""
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	}
	return ""
}

func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	// Epoch milliseconds or seconds.
	var n json.Number = json.Number(s)
	if i, err := n.Int64(); err == nil {
		if i > 1e12 {
			return time.UnixMilli(i).UTC()
		}
		return time.Unix(i, 0).UTC()
	}
	return time.Time{}
}
