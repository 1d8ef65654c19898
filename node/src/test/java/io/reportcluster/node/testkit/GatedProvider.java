package io.reportcluster.node.testkit;

import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Holds the first LLM call of chosen jobs until the test releases them, so a test can watch a job
 * that is running but has no transition, for as long as it needs, with no timing guess. A job is
 * held when its startup name begins with the held prefix. Other calls go straight to the delegate.
 * One instance may serve several nodes of a test (the job may run on any).
 */
public final class GatedProvider implements LlmProvider {
  private final LlmProvider delegate;
  private final String heldPrefix;
  private final ConcurrentMap<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();
  private final Set<String> waiting = ConcurrentHashMap.newKeySet();
  private volatile boolean open;

  public GatedProvider(LlmProvider delegate, String heldPrefix) {
    this.delegate = delegate;
    this.heldPrefix = heldPrefix;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public LlmCall start(LlmRequest request) {
    return start(request, text -> {});
  }

  @Override
  public LlmCall start(LlmRequest request, Consumer<String> onDelta) {
    if (open || request.step() != 0 || !request.startup().startsWith(heldPrefix))
      return delegate.start(request, onDelta);
    waiting.add(request.jobId());
    return Calls.after(
        gate(request.jobId()),
        () -> {
          waiting.remove(request.jobId());
          return delegate.start(request, onDelta);
        });
  }

  /** True while the job's first call is held here. */
  public boolean isHolding(String jobId) {
    return waiting.contains(jobId);
  }

  /** Lets the job's first call through (now, or when it comes). */
  public void release(String jobId) {
    gate(jobId).complete(null);
  }

  /** Lets every call through, now and from now on. */
  public void releaseAll() {
    open = true;
    gates.values().forEach(g -> g.complete(null));
  }

  private CompletableFuture<Void> gate(String jobId) {
    return gates.computeIfAbsent(jobId, id -> new CompletableFuture<>());
  }
}
