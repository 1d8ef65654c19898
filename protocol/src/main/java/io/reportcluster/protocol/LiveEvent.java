package io.reportcluster.protocol;

import java.time.Instant;

/**
 * One job transition as published on the Redis events channel ({@code <prefix>events}) and sent to
 * server-sent-event clients, whatever node runs the job. {@code event} names the change ({@code
 * submitted}, {@code started}, {@code step_completed}, ...); {@code at} is the instant the change
 * was persisted, so a reader can order an event against a view it already holds.
 */
public record LiveEvent(
    String jobId,
    String event,
    JobState state,
    String currentStep,
    int attempts,
    String result,
    String error,
    String node,
    Instant at,
    String delta,
    String owner) {

  /**
   * An event without an owner: {@code owner} is the API key that submitted the job (null without
   * keys, and on {@code delta} events), so a stream of every job can show a key only its own.
   */
  public LiveEvent(
      String jobId,
      String event,
      JobState state,
      String currentStep,
      int attempts,
      String result,
      String error,
      String node,
      Instant at,
      String delta) {
    this(jobId, event, state, currentStep, attempts, result, error, node, at, delta, null);
  }

  /** A transition (every event but {@code delta}). */
  public LiveEvent(
      String jobId,
      String event,
      JobState state,
      String currentStep,
      int attempts,
      String result,
      String error,
      String node,
      Instant at) {
    this(jobId, event, state, currentStep, attempts, result, error, node, at, null);
  }

  /** True for the last event a job publishes. */
  public boolean terminal() {
    return state != null && state.isTerminal();
  }
}
