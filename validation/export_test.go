package validation

// Fixtures for the black-box tests of package validation_test.
const (
	TaskWithTurnsJSON = taskWithTurnsJSON
	WorkerJSON        = workerJSON
)
