package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/store"
)

// ReplaceAgendas against a model of what it must do: random manual syncs
// (sessions added, dropped and listed again, stale syncs arriving late,
// several attendees at once) leave the agenda the model leaves, and log
// exactly the model's agenda.changed entries.
func TestReplaceAgendasFollowsTheModel(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	type row struct {
		registered bool
		at         time.Time
	}
	type key struct{ inv, ses string }
	type entry struct {
		Key     string
		Added   []string
		Removed []string
		Now     []string
	}
	model := map[key]row{}
	var want []entry
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	rnd := rand.New(rand.NewPCG(1, 2))
	invitees := []string{"a", "b", "c", "d"}
	sessions := []string{"s1", "s2", "s3", "s4", "s5"}
	for round := range 40 {
		at := t0.Add(time.Duration(rnd.IntN(30)) * time.Minute) // often older than what is stored
		agendas := map[string][]string{}
		for _, inv := range invitees {
			if rnd.IntN(3) == 0 {
				continue
			}
			var list []string
			for _, s := range sessions {
				if rnd.IntN(2) == 0 {
					list = append(list, s)
				}
			}
			if len(list) > 0 && rnd.IntN(4) == 0 {
				list = append(list, list[0]) // listed twice
			}
			agendas[inv] = list
		}
		// The model.
		for _, inv := range slices.Sorted(func(yield func(string) bool) {
			for inv := range agendas {
				if !yield(inv) {
					return
				}
			}
		}) {
			listed := map[string]bool{}
			for _, s := range agendas[inv] {
				listed[s] = true
			}
			var added, removed []string
			for _, s := range sessions {
				r, ok := model[key{inv, s}]
				switch {
				case listed[s] && !ok:
					model[key{inv, s}] = row{true, at}
					added = append(added, s)
				case listed[s] && !r.at.After(at):
					if !r.registered {
						added = append(added, s)
					}
					model[key{inv, s}] = row{true, at}
				case !listed[s] && ok && r.registered && !r.at.After(at):
					model[key{inv, s}] = row{false, at}
					removed = append(removed, s)
				}
			}
			if len(added)+len(removed) == 0 {
				continue
			}
			var now []string
			for _, s := range sessions {
				if model[key{inv, s}].registered {
					now = append(now, s)
				}
			}
			want = append(want, entry{"agenda:" + inv, orEmpty(added), orEmpty(removed), orEmpty(now)})
		}
		if err := st.Apply(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.ReplaceAgendas(ctx, integ, agendas, at)
		}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	var rows []struct {
		Inv        string    `db:"invitee_id"`
		Ses        string    `db:"session_id"`
		Registered bool      `db:"registered"`
		At         time.Time `db:"source_time"`
	}
	if err := st.DB().Select(&rows, `SELECT invitee_id, session_id, registered, source_time FROM agenda WHERE integration_id = $1`, integ); err != nil {
		t.Fatal(err)
	}
	got := map[key]row{}
	for _, r := range rows {
		got[key{r.Inv, r.Ses}] = row{r.Registered, r.At.UTC()}
	}
	if !reflect.DeepEqual(got, model) {
		t.Errorf("agenda\n %v\nmodel\n %v", got, model)
	}
	changes, err := st.ReadChanges(ctx, integ, 0, 10000, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log []entry
	for _, c := range changes {
		var ch struct{ Added, Removed []string }
		var rec struct{ SessionIDs []string }
		if err := json.Unmarshal(c.Changed, &ch); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(c.Record, &rec); err != nil {
			t.Fatal(err)
		}
		log = append(log, entry{c.Key, ch.Added, ch.Removed, rec.SessionIDs})
	}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("change log (%d entries)\n %v\nmodel (%d)\n %v", len(log), fmt.Sprint(log), len(want), fmt.Sprint(want))
	}
	if len(want) < 20 {
		t.Errorf("only %d agenda changes: the rounds test too little", len(want))
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
