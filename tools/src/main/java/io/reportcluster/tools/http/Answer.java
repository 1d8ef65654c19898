package io.reportcluster.tools.http;

import io.reportcluster.protocol.Api;
import io.reportcluster.tools.ProtocolJson;

/**
 * One HTTP answer of the service. {@code retryAfter} is the raw header (null when absent); {@code
 * sentNs} and {@code doneNs} are System.nanoTime() stamps around the exchange.
 */
public record Answer(int status, String body, String retryAfter, long sentNs, long doneNs) {

  /** Floor of a 503 back-off, so that {@code Retry-After: 0} cannot turn into a busy loop. */
  public static final long MIN_RETRY_WAIT_MS = 100;

  /** The wait when a 503 names none (or names an HTTP date, which the node never sends). */
  public static final long DEFAULT_RETRY_WAIT_MS = 1_000;

  public boolean ok() {
    return status / 100 == 2;
  }

  /** The latency of the exchange in milliseconds. */
  public double latencyMs() {
    return (doneNs - sentNs) / 1e6;
  }

  /**
   * How long a 503 asks the client to wait: Retry-After in delta-seconds (fractions tolerated),
   * {@link #DEFAULT_RETRY_WAIT_MS} when absent or not a number, never below {@link
   * #MIN_RETRY_WAIT_MS}.
   */
  public long retryAfterMs() {
    long ms = DEFAULT_RETRY_WAIT_MS;
    if (retryAfter != null) {
      try {
        ms = (long) (Double.parseDouble(retryAfter.trim()) * 1_000);
      } catch (NumberFormatException ignored) {
        // An HTTP-date is legal but not something the node sends; the default is fine.
      }
    }
    return Math.max(MIN_RETRY_WAIT_MS, ms);
  }

  /**
   * The body read as one of the protocol's records ({@link ProtocolJson}); null when it is not that
   * JSON.
   */
  public <T> T as(Class<T> type) {
    return ProtocolJson.read(body, type);
  }

  /** The {@code error} code of an error answer, or null. */
  public String errorCode() {
    Api.ErrorBody error = as(Api.ErrorBody.class);
    return error == null ? null : error.error();
  }

  /** The body on one line, at most 200 characters, for a warning. */
  public String snippet() {
    if (body == null) return "";
    String oneLine = body.replaceAll("\\s+", " ").trim();
    return oneLine.length() > 200 ? oneLine.substring(0, 200) + "..." : oneLine;
  }
}
