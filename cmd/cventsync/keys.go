package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/gateway"
	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/store"
)

// newKeysCmd manages named API keys straight in the database, so that the
// first keys can be made before any gateway runs; the admin API
// (/api/v1/keys) does the same over HTTP.
func newKeysCmd(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke named API keys (reader, operator, admin)",
		Long: `An API key calls the admin API with a role: reader (directory, change feed,
deliveries without bodies), operator (also replay, re-sync, poll now, delivery
bodies, profile edits) or admin (also integrations, credentials, destinations,
keys). --integration limits a key to some integrations (403 elsewhere). The key is
printed once; only its SHA-256 is stored. Needs DATABASE_URL.`,
	}
	cmd.AddCommand(newKeysCreateCmd(cfg), newKeysListCmd(cfg), newKeysRevokeCmd(cfg))
	return cmd
}

func newKeysCreateCmd(cfg *config.Config) *cobra.Command {
	var name, role string
	var integrations []string
	cmd := &cobra.Command{
		Use:     "create --role reader|operator|admin [--name NAME] [--integration ID]...",
		Short:   "Create a key and print it (once) on stdout",
		Example: "  cventsync keys create --role reader --name crm-sync --integration 0b5c...",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				name = role + " key " + time.Now().UTC().Format(time.RFC3339)
			}
			k, key, err := gateway.NewAPIKey(name, role, integrations)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range k.IntegrationIDs {
				if _, err := st.GetIntegration(cmd.Context(), id); errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no integration with id %s", id)
				} else if err != nil {
					return err
				}
			}
			if err := st.CreateAPIKey(cmd.Context(), k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s, role %s, integrations %s); it is shown once:\n",
				k.ID, k.Name, k.Role, scopeText(k.IntegrationIDs))
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "reader, operator or admin")
	f.StringVar(&name, "name", "", "what the key is for (default: role and time)")
	f.StringArrayVar(&integrations, "integration", nil, "limit the key to this integration (repeat for more)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newKeysListCmd(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List keys (masked), with their role, integrations, last use and revocation",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListAPIKeys(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tROLE\tINTEGRATIONS\tKEY\tCREATED\tLAST USED\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t…%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, scopeText(k.IntegrationIDs), k.Hint,
					k.CreatedAt.UTC().Format(time.RFC3339), timeText(k.LastUsedAt.Time, k.LastUsedAt.Valid), timeText(k.RevokedAt.Time, k.RevokedAt.Valid))
			}
			return w.Flush()
		},
	}
}

func newKeysRevokeCmd(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key; every gateway refuses it from the next request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			k, err := st.RevokeAPIKey(cmd.Context(), args[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no API key with id %s", args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s) at %s\n", k.ID, k.Name, k.RevokedAt.Time.UTC().Format(time.RFC3339))
			return nil
		},
	}
}

func scopeText(ids []string) string {
	if len(ids) == 0 {
		return "all"
	}
	return strings.Join(ids, ",")
}

func timeText(t time.Time, valid bool) string {
	if !valid {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
