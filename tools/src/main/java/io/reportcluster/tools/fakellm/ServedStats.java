package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reportcluster.protocol.Json;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the fake served one provider's clients, for {@code GET /fake/stats}. Tokens count only
 * answers delivered whole (the usage a client saw), so they compare with what a client recorded; a
 * stream cut by the fake or left by its client counts apart, with the words it had sent. What the
 * limits admitted counts apart too, per window ({@link MinuteLimits}) and at its densest ({@link
 * SlidingPeaks}).
 */
final class ServedStats {
  private final SlidingPeaks peaks;
  private final LongAdder requests = new LongAdder();
  private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();
  private final LongAdder inputTokens = new LongAdder();
  private final LongAdder outputTokens = new LongAdder();
  private final LongAdder rateLimited = new LongAdder();
  private final LongAdder streams = new LongAdder();
  private final LongAdder cutStreams = new LongAdder();
  private final LongAdder clientClosed = new LongAdder();
  private final LongAdder unfinishedOutputTokens = new LongAdder();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();

  ServedStats(SlidingPeaks peaks) {
    this.peaks = peaks;
  }

  /** A request arrived. */
  void started() {
    maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
  }

  /** It was answered with {@code status} (a cut stream still counts its 200). */
  void finished(int status) {
    inFlight.decrementAndGet();
    requests.increment();
    byStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
    if (status == 429) rateLimited.increment();
  }

  /**
   * It passed every check up to the limits and was charged {@code tokens} (or would have been, had
   * the provider been limited).
   */
  void admitted(int tokens) {
    peaks.admitted(tokens);
  }

  /** An answer reached its end: its usage is what the client was told. */
  void delivered(int input, int output, boolean streamed) {
    inputTokens.add(input);
    outputTokens.add(output);
    if (streamed) streams.increment();
  }

  /** The fake dropped a stream after {@code sent} words (--cut-rate). */
  void cut(int sent) {
    cutStreams.increment();
    unfinishedOutputTokens.add(sent);
  }

  /** The client closed the connection after {@code sent} words. */
  void clientClosed(int sent) {
    clientClosed.increment();
    unfinishedOutputTokens.add(sent);
  }

  void reset() {
    requests.reset();
    byStatus.clear();
    inputTokens.reset();
    outputTokens.reset();
    rateLimited.reset();
    streams.reset();
    cutStreams.reset();
    clientClosed.reset();
    unfinishedOutputTokens.reset();
    maxInFlight.set(inFlight.get());
    peaks.reset();
  }

  /** The counts, with the limit's {@code windows} (empty when the provider is not limited). */
  ObjectNode toJson(List<MinuteLimits.Window> windows) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("requests", requests.sum());
    ObjectNode statuses = o.putObject("by_status");
    new TreeMap<>(byStatus).forEach((status, n) -> statuses.put(String.valueOf(status), n.sum()));
    o.put("input_tokens", inputTokens.sum());
    o.put("output_tokens", outputTokens.sum());
    o.put("rate_limited", rateLimited.sum());
    o.put("streams_completed", streams.sum());
    o.put("cut_streams", cutStreams.sum());
    o.put("client_closed", clientClosed.sum());
    o.put("unfinished_output_tokens", unfinishedOutputTokens.sum());
    o.put("in_flight", inFlight.get());
    o.put("max_in_flight", maxInFlight.get());
    o.set("windows", Json.MAPPER.valueToTree(windows));
    o.put("max_sliding_requests", peaks.maxRequests());
    o.put("max_sliding_tokens", peaks.maxTokens());
    return o;
  }
}
