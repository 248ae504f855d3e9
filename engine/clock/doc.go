// Package clock supplies the time source every Tact component reads instead
// of calling time.Now directly, so tests can run days of journey time in
// milliseconds and runs can be made reproducible with --now.
package clock
