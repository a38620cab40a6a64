// Package actionlint pins github.com/rhysd/actionlint, which checks the
// GitHub Actions workflows (`make actionlint`), in a module of its own: it
// needs a release candidate of go.yaml.in/yaml/v4 that the review tools'
// module would upgrade past.
package actionlint
