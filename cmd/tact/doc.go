// Command tact is the Tact binary: flags, configuration and wiring. The
// work itself lives in the engine, segments, journeys, channels and server
// packages.
package main
