package client_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/handingertest"
)

// TestMain serves the runnable examples: one in-process server for all of
// them, found through HANDINGER_BASE_URL and HANDINGER_API_KEY as a user's
// program would find the hosted service. Tests start their own servers and
// pass keys and URLs explicitly. The server's wait limit is short so that
// ExampleTasksService_Wait can show a create answering before its turn ends.
func TestMain(m *testing.M) {
	srv, err := handingertest.Start(handingertest.WaitLimit(500 * time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(client.EnvBaseURL, srv.URL)
	os.Setenv(client.EnvAPIKey, srv.APIKey)
	code := m.Run()
	srv.Close()
	os.Exit(code)
}
