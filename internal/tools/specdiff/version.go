package main

import (
	"fmt"
	"regexp"

	"golang.org/x/mod/semver"
)

// Bump is how much a change of openapi.yaml needs info.version to move.
type Bump int

// The bumps, smallest first.
const (
	BumpNone  Bump = iota // nothing a client sees changed: none, or a patch
	BumpMinor             // an addition, or a change that may break
	BumpMajor             // an (allowed) breaking change
)

func (b Bump) String() string {
	return [...]string{"none or a patch", "at least a minor bump", "a major bump"}[b]
}

// versionOnly are the changes that are the version's own movement, which
// need no bump of their own.
var versionOnly = map[string]bool{"api-version-changed": true}

// NeededBump is the bump the wire changes need.
func NeededBump(changes []WireChange) Bump {
	need := BumpNone
	for _, c := range changes {
		switch {
		case c.Breaking():
			return BumpMajor
		case !versionOnly[c.ID]:
			need = BumpMinor
		}
	}
	return need
}

// plainVersion is MAJOR.MINOR.PATCH, without a v or a pre-release.
var plainVersion = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// CheckVersion says why rev does not carry the bump from base, or nil.
// While the major version is 0, a minor bump carries a breaking change, as
// semantic versioning has it.
func CheckVersion(base, rev string, need Bump) error {
	if !plainVersion.MatchString(base) || !plainVersion.MatchString(rev) {
		return fmt.Errorf("info.version %q → %q: both must be semantic versions (MAJOR.MINOR.PATCH)", base, rev)
	}
	b, r := "v"+base, "v"+rev
	cmp := semver.Compare(r, b)
	if cmp < 0 {
		return fmt.Errorf("info.version went down: %s → %s", base, rev)
	}
	if need == BumpMajor && semver.Major(b) == "v0" {
		need = BumpMinor
	}
	switch need {
	case BumpMajor:
		if semver.Compare(semver.Major(r), semver.Major(b)) <= 0 {
			return fmt.Errorf("info.version %s → %s: a breaking change needs a major bump (%s.0.0)", base, rev, nextMajor(b))
		}
	case BumpMinor:
		if semver.Compare(semver.MajorMinor(r), semver.MajorMinor(b)) <= 0 {
			return fmt.Errorf("info.version %s → %s: an addition needs at least a minor bump (%s.0)", base, rev, nextMinor(b))
		}
	}
	return nil
}

func nextMajor(v string) string {
	var major int
	fmt.Sscanf(semver.Major(v), "v%d", &major)
	return fmt.Sprint(major + 1)
}

func nextMinor(v string) string {
	var major, minor int
	fmt.Sscanf(semver.MajorMinor(v), "v%d.%d", &major, &minor)
	return fmt.Sprintf("%d.%d", major, minor+1)
}
