package main

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/backend"
)

// idPattern is what organization and user ids may look like.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func newKeysCommand() *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage API keys",
	}
	var db, org, user string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key for a user of an organization",
		Long: `Create an API key for --user in --org, creating the database, the organization and the
user on first use. Only the key's SHA-256 hash is stored; the key is printed once, as the
last line of the output.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, v := range map[string]string{"--org": org, "--user": user} {
				if !idPattern.MatchString(v) {
					return usageError{fmt.Errorf("%s %q: want 1-64 letters, digits, _ or -", name, v)}
				}
			}
			b, err := backend.Open(cmd.Context(), db, backend.Options{})
			if err != nil {
				if errors.Is(err, backend.ErrAddress) {
					return usageError{err}
				}
				return err
			}
			defer b.Close()
			k := apikey.New()
			if err := b.Store.CreateAPIKey(cmd.Context(), k.ID, org, user, k.Hash, time.Now()); err != nil {
				return fmt.Errorf("create key for %s in %s: %w", user, org, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created key %s for user %s in organization %s.\n%s\n", k.ID, user, org, k.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&db, "db", backend.Default, backend.Usage)
	create.Flags().StringVar(&org, "org", "", "organization id (required)")
	create.Flags().StringVar(&user, "user", "", "user id (required)")
	applyEnv := bindEnv(create.Flags())
	create.PreRunE = func(*cobra.Command, []string) error { return applyEnv() }
	keys.AddCommand(create)
	return keys
}
