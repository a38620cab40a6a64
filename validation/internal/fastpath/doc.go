// Package fastpath holds the fast paths of package validation: pieces that
// do a job kin-openapi (or encoding/json, or regexp) does, with the same
// answers, in a fraction of the time. Each is proved equal to the original
// by a differential test and a fuzz target beside it:
//
//   - Decode parses a JSON body into the generic values kin-openapi
//     validates, as encoding/json with UseNumber would (FuzzDecodeJSON);
//   - CompilePattern compiles the schema patterns kin-openapi matches,
//     with a byte-table matcher for simple id patterns (FuzzPattern);
//   - Formats replaces kin-openapi's "date-time" check (FuzzDateTime);
//   - Tree routes a request path to the operation of a path template, as
//     kin-openapi's router does (validation's TestRouter);
//   - Reaches tells where kin-openapi's VisitAsRequest and VisitAsResponse
//     can change a verdict, so that they are passed only there.
//
// Nothing here decides what is valid: kin-openapi does, with these as its
// plug-ins or its inputs.
package fastpath
