package server

import "github.com/handinger/handinger/internal/service"

// ServiceOf returns s's service, for the benchmarks' bare baseline, which
// answers from the same service without the server's HTTP layer.
func ServiceOf(s *Server) *service.Service { return s.svc }

// CloseDatabase closes s's database under it, for the tests of how the
// server answers when its database is gone.
func CloseDatabase(s *Server) error { return s.db.Store.Close() }
