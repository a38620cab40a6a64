package validation

import (
	"os"
	"strings"
)

// Fixtures shared by the tests of this directory and of internal/fastpath
// (testdata/): a retrieve answer of about 2 KB with two turns, and a create
// answer. Both match openapi.yaml.
var (
	// taskWithTurnsJSON is a TaskWithTurns, the answer to GET /api/tasks/{taskId}.
	taskWithTurnsJSON = fixture("testdata/task_with_turns.json")
	// workerJSON is a Worker, the answer to POST /api/tasks.
	workerJSON = fixture("testdata/worker.json")
)

func fixture(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}
