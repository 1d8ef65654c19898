package io.reportcluster.node.llm;

import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.protocol.NodeCalls;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which calls the pool's callers hold and which wait, for operators (the dashboard's nodes page,
 * the node's entry in Redis). Written by the pool actor alone, as each call is queued, taken by a
 * caller, ends, or its provider is held back; read from any thread. Each change costs an entry in a
 * concurrent map, nothing is copied: a view is built when it is read, and each of its parts is
 * right on its own (a call that moves meanwhile may show in both, or in neither).
 */
final class PoolCalls {
  private record Running(LlmRequest request, long sinceMs) {}

  private record Waiting(LlmRequest request, long queuedAtMs) {}

  /** By caller: at most one call each. */
  private final Map<Object, Running> running = new ConcurrentHashMap<>();

  /** By the pool's sequence number, which is the order of arrival. */
  private final ConcurrentSkipListMap<Long, Waiting> waiting = new ConcurrentSkipListMap<>();

  private final Map<String, AtomicInteger> waitingByProvider = new ConcurrentHashMap<>();

  /** Providers held back now, and what for ({@code tokens}, {@code cooldown}, ...). */
  private final Map<String, String> heldFor = new ConcurrentHashMap<>();

  void queued(long seq, LlmRequest request, long queuedAtMs) {
    if (waiting.put(seq, new Waiting(request, queuedAtMs)) == null)
      depth(request.provider()).incrementAndGet();
  }

  void dequeued(long seq) {
    Waiting w = waiting.remove(seq);
    if (w != null) depth(w.request().provider()).decrementAndGet();
  }

  void queueDropped() {
    waiting.clear();
    waitingByProvider.values().forEach(d -> d.set(0));
  }

  void started(Object caller, LlmRequest request, long nowMs) {
    running.put(caller, new Running(request, nowMs));
  }

  void ended(Object caller) {
    running.remove(caller);
  }

  void held(String provider, String reason) {
    heldFor.put(provider, reason);
  }

  void unheld(String provider) {
    heldFor.remove(provider);
  }

  private AtomicInteger depth(String provider) {
    return waitingByProvider.computeIfAbsent(provider, p -> new AtomicInteger());
  }

  /** The view now: every call in flight, the queue counted by provider and its first calls. */
  NodeCalls view(String node, int callers, int queueDepth) {
    List<Running> now = new ArrayList<>(running.values());
    now.sort(Comparator.comparingLong(Running::sinceMs));
    List<NodeCalls.InFlight> inFlight = new ArrayList<>(now.size());
    for (Running r : now) {
      LlmRequest q = r.request();
      inFlight.add(
          new NodeCalls.InFlight(
              q.jobId(),
              q.step(),
              q.stepName(),
              q.provider(),
              q.attempt(),
              Instant.ofEpochMilli(r.sinceMs())));
    }
    Map<String, Integer> byProvider = new TreeMap<>();
    waitingByProvider.forEach(
        (provider, depth) -> {
          int n = depth.get();
          if (n > 0) byProvider.put(provider, n);
        });
    List<NodeCalls.Queued> head = new ArrayList<>();
    for (Waiting w : waiting.values()) {
      if (head.size() == NodeCalls.QUEUED_SHOWN) break;
      LlmRequest q = w.request();
      String held = heldFor.get(q.provider());
      head.add(
          new NodeCalls.Queued(
              q.jobId(),
              q.step(),
              q.stepName(),
              q.provider(),
              Instant.ofEpochMilli(w.queuedAtMs()),
              held == null ? null : "budget: " + held));
    }
    return new NodeCalls(node, callers, inFlight, queueDepth, byProvider, head);
  }
}
