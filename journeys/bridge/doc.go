// Package bridge is the one bridge between the engine and the channels:
// Adapter makes the store satisfy what package channels declares (the Gate
// right before each provider call, the ConsentRecorder of STOP keywords and
// provider opt-outs, the FeedbackSink of delivery feedback, and
// sms.StopRestorer for START). The journeys runner and the server use the
// same Adapter; consent and eligibility are decided by engine/consent and
// engine/eligibility, never here.
package bridge
