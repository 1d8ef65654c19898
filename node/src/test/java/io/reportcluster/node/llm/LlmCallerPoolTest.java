package io.reportcluster.node.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.reportcluster.node.llm.budget.BudgetSettings;
import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.ProviderSettings;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.RecordingProvider;
import io.reportcluster.protocol.NodeCalls;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The caller pool bounds concurrency per node, queues the rest visibly, and survives crashes. */
class LlmCallerPoolTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /**
   * A provider whose calls finish only when the test says so; "crash" prompts throw an exception,
   * "error" prompts an Error. A cancelled call stops at once, unless the test holds cancellations
   * ({@link #holdCancels}), then it stops when the test says so.
   */
  static final class GatedProvider implements LlmProvider {
    final LinkedBlockingQueue<CompletableFuture<String>> pending = new LinkedBlockingQueue<>();

    /** One per cancel asked for: complete it to say the call stopped. */
    final LinkedBlockingQueue<CompletableFuture<Void>> cancels = new LinkedBlockingQueue<>();

    volatile boolean holdCancels;

    @Override
    public String name() {
      return "gated";
    }

    @Override
    public LlmCall start(LlmRequest request) {
      if (request.prompt().equals("crash")) throw new IllegalStateException("provider client bug");
      if (request.prompt().equals("error")) throw new AssertionError("provider client error");
      CompletableFuture<String> f = new CompletableFuture<>();
      pending.add(f);
      return new LlmCall() {
        @Override
        public CompletionStage<String> answer() {
          return f;
        }

        @Override
        public CompletionStage<Void> cancel() {
          pending.remove(f);
          f.completeExceptionally(
              new LlmCallException(LlmCallException.Kind.CANCELLED, "cancelled"));
          CompletableFuture<Void> stopped = new CompletableFuture<>();
          cancels.add(stopped);
          if (!holdCancels) stopped.complete(null);
          return stopped;
        }
      };
    }

    /** Answers the calls waiting now; returns how many. */
    int releaseAll() {
      List<CompletableFuture<String>> now = new ArrayList<>();
      pending.drainTo(now);
      now.forEach(f -> f.complete("ok"));
      return now.size();
    }
  }

  private record Pool(ActorRef<LlmCallerPool.Command> ref, PoolMetrics metrics) {}

  private static Pool pool(LlmProvider provider, int callers, Duration callTimeout) {
    LlmCallerPool.Settings settings =
        new LlmCallerPool.Settings(
            callers,
            1000,
            callTimeout,
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            Duration.ofMillis(50),
            Duration.ofMillis(200),
            0.0);
    PoolMetrics metrics = new PoolMetrics(callers, 1000);
    return new Pool(
        testKit.spawn(LlmCallerPool.create(settings, ProviderRegistry.of(provider), metrics)),
        metrics);
  }

  private static LlmCallerPool.Submit call(
      String jobId, String prompt, ActorRef<CallMessages.CallResult> replyTo) {
    return new LlmCallerPool.Submit(
        new CallMessages.Call(
            new LlmRequest(jobId, "Acme", 0, "market", 1, "gated", prompt), replyTo));
  }

  private static List<CallMessages.CallResult> finishedOnly(
      TestProbe<CallMessages.CallResult> probe, int n) {
    List<CallMessages.CallResult> out = new ArrayList<>();
    while (out.size() < n) {
      CallMessages.CallResult r = probe.receiveMessage(Duration.ofSeconds(10));
      if (!(r instanceof CallMessages.CallStarted)) out.add(r);
    }
    return out;
  }

  @Test
  void anAnswerIsPricedAtItsEntrysPricesAndCountedByProviderAndModel() {
    ProviderSettings entry =
        new ProviderSettings(
            "priced",
            ProviderSettings.Type.SIMULATED,
            "",
            "",
            "m",
            1024,
            Duration.ofSeconds(10),
            2.0,
            8.0);
    LlmProvider answering =
        new LlmProvider() {
          @Override
          public String name() {
            return "priced";
          }

          @Override
          public LlmCall start(LlmRequest request) {
            return LlmCall.ofAnswer(
                CompletableFuture.completedFuture(
                    new LlmAnswer(
                        "text",
                        "model-7",
                        new LlmAnswer.Usage(1_000, 250),
                        LlmAnswer.FinishReason.STOP)),
                () -> {});
          }
        };
    ProviderRegistry registry =
        new ProviderRegistry(Map.of("priced", answering), Map.of("priced", entry), "priced");
    PoolMetrics metrics = new PoolMetrics(1, 10);
    List<String> counted = new ArrayList<>();
    metrics.onUsage(
        (provider, model, usage, cost) ->
            counted.add(provider + "/" + model + "/" + usage.inputTokens() + "/" + cost));
    ActorRef<LlmCallerPool.Command> pool =
        testKit.spawn(
            LlmCallerPool.create(
                new LlmCallerPool.Settings(
                    1,
                    10,
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(5),
                    Duration.ofMillis(50),
                    Duration.ofMillis(200),
                    0.0),
                registry,
                metrics));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();
    pool.tell(
        new LlmCallerPool.Submit(
            new CallMessages.Call(
                new LlmRequest("job-p", "Acme", 0, "market", 1, "priced", "p"), probe.ref())));

    CallMessages.CallSucceeded ok = (CallMessages.CallSucceeded) finishedOnly(probe, 1).get(0);
    // 1,000 tokens in at $2 per million and 250 out at $8 per million.
    assertThat(ok.costUsd()).isCloseTo(0.004, within(1e-12));
    assertThat(ok.model()).isEqualTo("model-7");
    assertThat(ok.provider()).isEqualTo("priced");
    assertThat(ok.usage()).isEqualTo(new LlmAnswer.Usage(1_000, 250));
    assertThat(counted).containsExactly("priced/model-7/1000/" + ok.costUsd());
  }

  @Test
  void neverMoreThanNCallsInFlightWithFiftyQueuedAndTheRestWaitsVisibly() {
    GatedProvider gate = new GatedProvider();
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 4, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    for (int i = 0; i < 50; i++) pool.ref().tell(call("job-" + i, "p", probe.ref()));

    Await.until(Duration.ofSeconds(5), "4 calls in flight", () -> provider.inFlight() == 4);
    Await.until(
        Duration.ofSeconds(5),
        "46 calls visible in the queue",
        () -> pool.metrics().queueDepth() == 46);
    assertThat(pool.metrics().inFlight()).isEqualTo(4);

    // Drain in waves; the provider measures concurrency itself.
    int answered = 0;
    while (answered < 50) {
      int before = answered;
      Await.until(Duration.ofSeconds(5), "next wave in flight", () -> gate.pending.size() > 0);
      answered += gate.releaseAll();
      assertThat(answered).isGreaterThan(before);
    }
    List<CallMessages.CallResult> results = finishedOnly(probe, 50);
    assertThat(results).allMatch(r -> r instanceof CallMessages.CallSucceeded);
    assertThat(provider.maxInFlight()).isEqualTo(4);
    assertThat(provider.calls()).hasSize(50);
    Await.until(Duration.ofSeconds(5), "queue empty", () -> pool.metrics().queueDepth() == 0);
    assertThat(pool.metrics().callsSucceeded()).isEqualTo(50);
  }

  @Test
  void aCrashedCallerReportsARetryableFailureAndIsRestarted() {
    GatedProvider gate = new GatedProvider();
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 2, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    pool.ref().tell(call("job-crash", "crash", probe.ref()));
    CallMessages.CallResult crashed = finishedOnly(probe, 1).get(0);
    assertThat(crashed).isInstanceOf(CallMessages.CallFailed.class);
    LlmCallException why = ((CallMessages.CallFailed) crashed).failure();
    assertThat(why.kind()).isEqualTo(LlmCallException.Kind.CALLER_CRASHED);
    assertThat(why.retryable()).isTrue();

    // Both callers serve again: the crashed one came back after its backoff.
    pool.ref().tell(call("job-a", "p", probe.ref()));
    pool.ref().tell(call("job-b", "p", probe.ref()));
    Await.until(
        Duration.ofSeconds(5),
        "2 calls in flight after the restart",
        () -> provider.inFlight() == 2 && gate.pending.size() == 2);
    gate.releaseAll();
    assertThat(finishedOnly(probe, 2)).allMatch(r -> r instanceof CallMessages.CallSucceeded);
    assertThat(pool.metrics().inFlight()).isZero();
  }

  @Test
  void aHungCallTimesOutAsARetryableFailureAndFreesItsCaller() {
    GatedProvider gate = new GatedProvider();
    Pool pool = pool(gate, 1, Duration.ofMillis(300));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    pool.ref().tell(call("job-hung", "p", probe.ref()));
    CallMessages.CallResult r = finishedOnly(probe, 1).get(0);
    assertThat(r).isInstanceOf(CallMessages.CallFailed.class);
    assertThat(((CallMessages.CallFailed) r).failure().kind())
        .isEqualTo(LlmCallException.Kind.TIMEOUT);

    assertThat(gate.cancels)
        .as("the hung call was cancelled at the provider, not abandoned")
        .hasSize(1);
    pool.ref().tell(call("job-next", "p", probe.ref()));
    Await.until(
        Duration.ofSeconds(5),
        "the single caller takes the next call",
        () -> gate.pending.size() == 1);
    gate.releaseAll();
    assertThat(finishedOnly(probe, 1).get(0)).isInstanceOf(CallMessages.CallSucceeded.class);
  }

  @Test
  void cancellingAJobDropsItsQueuedCalls() {
    GatedProvider gate = new GatedProvider();
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 1, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    pool.ref().tell(call("job-running", "p", probe.ref()));
    pool.ref().tell(call("job-cancelled", "p", probe.ref()));
    pool.ref().tell(call("job-kept", "p", probe.ref()));
    Await.until(Duration.ofSeconds(5), "two queued", () -> pool.metrics().queueDepth() == 2);
    pool.ref().tell(new LlmCallerPool.CancelCalls("job-cancelled", null));
    Await.until(Duration.ofSeconds(5), "one queued", () -> pool.metrics().queueDepth() == 1);
    assertThat(pool.metrics().calls("n").queued())
        .extracting(NodeCalls.Queued::jobId)
        .containsExactly("job-kept");

    Await.until(Duration.ofSeconds(5), "first call", () -> gate.pending.size() == 1);
    gate.releaseAll();
    Await.until(Duration.ofSeconds(5), "second call", () -> gate.pending.size() == 1);
    gate.releaseAll();
    finishedOnly(probe, 2);
    assertThat(provider.calls())
        .extracting(LlmRequest::jobId)
        .containsExactly("job-running", "job-kept");
  }

  @Test
  void aTimedOutCallIsCancelledAtTheProviderAndHoldsItsCallerUntilItStopped() {
    GatedProvider gate = new GatedProvider();
    gate.holdCancels = true;
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 1, Duration.ofMillis(200));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    pool.ref().tell(call("job-slow", "p", probe.ref()));
    pool.ref().tell(call("job-next", "p", probe.ref()));
    CompletableFuture<Void> stop =
        Await.value(
            Duration.ofSeconds(5),
            "the timed-out call is cancelled",
            gate.cancels::peek,
            c -> c != null);

    // Until the provider says the call stopped, the caller stays busy: no retry runs beside it,
    // the job is not told yet, and the next call waits.
    probe.expectMessageClass(CallMessages.CallStarted.class);
    probe.expectNoMessage(Duration.ofMillis(300));
    assertThat(pool.metrics().inFlight()).isEqualTo(1);
    assertThat(pool.metrics().queueDepth()).isEqualTo(1);
    assertThat(provider.calls()).hasSize(1);

    stop.complete(null);
    CallMessages.CallResult r = finishedOnly(probe, 1).get(0);
    assertThat(r).isInstanceOf(CallMessages.CallFailed.class);
    assertThat(((CallMessages.CallFailed) r).failure().kind())
        .isEqualTo(LlmCallException.Kind.TIMEOUT);
    Await.until(
        Duration.ofSeconds(5), "the caller takes the next call", () -> gate.pending.size() == 1);
    assertThat(provider.cancelled()).extracting(LlmRequest::jobId).containsExactly("job-slow");
    assertThat(provider.maxInFlight()).isEqualTo(1);
    gate.releaseAll();
  }

  @Test
  void cancellingAJobCancelsItsRunningCallAtTheProvider() {
    GatedProvider gate = new GatedProvider();
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 1, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    pool.ref().tell(call("job-running", "p", probe.ref()));
    Await.until(Duration.ofSeconds(5), "the call runs", () -> gate.pending.size() == 1);
    pool.ref().tell(new LlmCallerPool.CancelCalls("job-running", null));

    Await.until(
        Duration.ofSeconds(5),
        "the provider saw the cancel",
        () -> provider.cancelled().size() == 1);
    Await.until(Duration.ofSeconds(5), "the caller is free", () -> pool.metrics().inFlight() == 0);
    assertThat(pool.metrics().callsCancelled()).isEqualTo(1);
    // The job hears nothing after the start: a cancelled call is not news.
    probe.expectMessageClass(CallMessages.CallStarted.class);
    probe.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aStoppedJobIncarnationsCallsAreDroppedButAnotherIncarnationsAreKept() {
    GatedProvider gate = new GatedProvider();
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 1, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> blocker = testKit.createTestProbe();
    TestProbe<CallMessages.CallResult> oldCopy = testKit.createTestProbe();
    TestProbe<CallMessages.CallResult> newCopy = testKit.createTestProbe();

    pool.ref().tell(call("job-other", "p", blocker.ref()));
    pool.ref().tell(call("job-moved", "p", oldCopy.ref()));
    pool.ref().tell(call("job-moved", "p", newCopy.ref()));
    Await.until(Duration.ofSeconds(5), "two queued", () -> pool.metrics().queueDepth() == 2);
    // The blocker must be at the provider before the gate opens, or opening it answers nothing.
    Await.until(Duration.ofSeconds(5), "the blocker runs", () -> gate.pending.size() == 1);

    pool.ref().tell(new LlmCallerPool.CancelCalls("job-moved", oldCopy.ref()));
    Await.until(
        Duration.ofSeconds(5),
        "the old copy's call left the queue",
        () -> pool.metrics().queueDepth() == 1);
    assertThat(gate.releaseAll()).isEqualTo(1);
    finishedOnly(blocker, 1);
    Await.until(Duration.ofSeconds(5), "the new copy's call runs", () -> gate.pending.size() == 1);
    assertThat(gate.releaseAll()).isEqualTo(1);
    finishedOnly(newCopy, 1);
    oldCopy.expectNoMessage(Duration.ofMillis(200));
    assertThat(provider.calls()).hasSize(2);
  }

  @Test
  void aProviderThatThrowsAnErrorFailsTheCallAndLeavesNothingCountedInFlight() {
    GatedProvider gate = new GatedProvider();
    Pool pool = pool(gate, 1, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    pool.ref().tell(call("job-error", "error", probe.ref()));
    CallMessages.CallResult r = finishedOnly(probe, 1).get(0);
    assertThat(r).isInstanceOf(CallMessages.CallFailed.class);
    assertThat(((CallMessages.CallFailed) r).failure().retryable()).isTrue();
    Await.until(Duration.ofSeconds(5), "nothing in flight", () -> pool.metrics().inFlight() == 0);

    // The caller came back and serves the next call.
    pool.ref().tell(call("job-next", "p", probe.ref()));
    Await.until(Duration.ofSeconds(5), "the next call runs", () -> gate.pending.size() == 1);
    gate.releaseAll();
    assertThat(finishedOnly(probe, 1).get(0)).isInstanceOf(CallMessages.CallSucceeded.class);
  }

  @Test
  void abortDropsTheQueueCancelsRunningCallsAndStartsNothingAgain() {
    GatedProvider gate = new GatedProvider();
    RecordingProvider provider = new RecordingProvider(gate);
    Pool pool = pool(provider, 2, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();

    for (int i = 0; i < 5; i++) pool.ref().tell(call("job-" + i, "p", probe.ref()));
    Await.until(
        Duration.ofSeconds(5),
        "two run, three wait",
        () -> gate.pending.size() == 2 && pool.metrics().queueDepth() == 3);
    pool.ref().tell(new LlmCallerPool.Abort("test"));

    Await.until(
        Duration.ofSeconds(5),
        "both running calls cancelled",
        () -> provider.cancelled().size() == 2);
    Await.until(
        Duration.ofSeconds(5),
        "nothing in flight or queued",
        () -> pool.metrics().inFlight() == 0 && pool.metrics().queueDepth() == 0);
    Await.until(
        Duration.ofSeconds(5),
        "no call shown in flight or queued",
        () -> pool.metrics().calls("n").inFlight().isEmpty());
    assertThat(pool.metrics().calls("n").queued()).isEmpty();
    assertThat(pool.metrics().calls("n").queueByProvider()).isEmpty();
    pool.ref().tell(call("job-late", "p", probe.ref()));
    probe.expectMessageClass(CallMessages.CallStarted.class);
    probe.expectMessageClass(CallMessages.CallStarted.class);
    probe.expectNoMessage(Duration.ofMillis(300));
    assertThat(provider.calls()).hasSize(2);
  }

  /** A provider entry that answers at once. */
  private static LlmProvider answering(String name) {
    return new LlmProvider() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public LlmCall start(LlmRequest request) {
        return LlmCall.ofAnswer(
            CompletableFuture.completedFuture(LlmAnswer.ofText("answer of " + name)), () -> {});
      }
    };
  }

  @Test
  @DisplayName(
      "a call without budget waits, told to its job and not started, while another provider's call"
          + " runs on the free caller")
  void aProviderWithoutBudgetHoldsOnlyItsOwnCalls() {
    // One request per 10 s window for "limited": its second call must wait; "free" has no limits.
    Budgets budgets =
        new Budgets(
            new BudgetSettings(
                Duration.ofSeconds(10),
                0.0,
                0.0,
                Duration.ofMillis(100),
                Duration.ofSeconds(10),
                0.1,
                Duration.ofSeconds(30),
                Duration.ofMinutes(3)),
            Map.of("limited", new ProviderSettings.Limits(1, 0, 0, 0, 0)),
            Optional.empty(),
            () -> 1);
    ProviderRegistry registry =
        new ProviderRegistry(
            Map.of("limited", answering("limited"), "free", answering("free")), "limited");
    LlmCallerPool.Settings settings =
        new LlmCallerPool.Settings(
            1,
            100,
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            Duration.ofMillis(50),
            Duration.ofMillis(200),
            0.0);
    PoolMetrics metrics = new PoolMetrics(1, 100);
    ActorRef<LlmCallerPool.Command> pool =
        testKit.spawn(LlmCallerPool.create(settings, registry, metrics, DeltaSink.NONE, budgets));
    TestProbe<CallMessages.CallResult> first = testKit.createTestProbe();
    TestProbe<CallMessages.CallResult> second = testKit.createTestProbe();
    TestProbe<CallMessages.CallResult> other = testKit.createTestProbe();

    pool.tell(submitTo("limited", "job-1", first.ref()));
    first.expectMessageClass(CallMessages.CallStarted.class);
    first.expectMessageClass(CallMessages.CallSucceeded.class);
    pool.tell(submitTo("limited", "job-2", second.ref()));
    pool.tell(submitTo("free", "job-3", other.ref()));

    CallMessages.CallWaiting waiting = second.expectMessageClass(CallMessages.CallWaiting.class);
    assertThat(waiting.provider()).isEqualTo("limited");
    assertThat(waiting.reason()).isEqualTo("requests");
    assertThat(waiting.until()).isAfter(java.time.Instant.now().plusSeconds(5));
    other.expectMessageClass(CallMessages.CallStarted.class);
    other.expectMessageClass(CallMessages.CallSucceeded.class);
    second.expectNoMessage(Duration.ofMillis(500));
    NodeCalls view = metrics.calls("node-a");
    assertThat(view.queued())
        .singleElement()
        .satisfies(
            q -> {
              assertThat(q.jobId()).isEqualTo("job-2");
              assertThat(q.provider()).isEqualTo("limited");
              assertThat(q.waitingFor()).isEqualTo("budget: requests");
            });
    assertThat(view.queueByProvider()).containsExactly(Map.entry("limited", 1));
    assertThat(view.queueDepth()).isEqualTo(1);
  }

  @Test
  @DisplayName(
      "the pool shows the call its caller holds and the calls that wait, in order, until they are"
          + " done")
  void theCallsInFlightAndTheQueueAreVisibleUntilTheyAreDone() {
    GatedProvider gate = new GatedProvider();
    Pool pool = pool(gate, 1, Duration.ofMinutes(1));
    TestProbe<CallMessages.CallResult> probe = testKit.createTestProbe();
    Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    pool.ref().tell(step("job-first", 2, "team", 3, probe.ref()));
    pool.ref().tell(step("job-second", 0, "market", 1, probe.ref()));
    pool.ref().tell(step("job-third", 4, "synthesis", 1, probe.ref()));
    Await.until(Duration.ofSeconds(5), "the first call runs", () -> gate.pending.size() == 1);
    Await.until(Duration.ofSeconds(5), "two queued", () -> pool.metrics().queueDepth() == 2);

    NodeCalls view = pool.metrics().calls("node-a");
    assertThat(view.node()).isEqualTo("node-a");
    assertThat(view.callers()).isEqualTo(1);
    assertThat(view.inFlight())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.jobId()).isEqualTo("job-first");
              assertThat(c.step()).isEqualTo(2);
              assertThat(c.stepName()).isEqualTo("team");
              assertThat(c.provider()).isEqualTo("gated");
              assertThat(c.attempt()).isEqualTo(3);
              assertThat(c.startedAt()).isBetween(before, Instant.now());
            });
    assertThat(view.queueDepth()).isEqualTo(2);
    assertThat(view.queueByProvider()).containsExactly(Map.entry("gated", 2));
    assertThat(view.queued())
        .extracting(NodeCalls.Queued::jobId, NodeCalls.Queued::step, NodeCalls.Queued::stepName)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("job-second", 0, "market"),
            org.assertj.core.groups.Tuple.tuple("job-third", 4, "synthesis"));
    assertThat(view.queued())
        .allSatisfy(
            q -> {
              assertThat(q.provider()).isEqualTo("gated");
              assertThat(q.waitingFor()).as("waits for a caller only").isNull();
              assertThat(q.queuedAt()).isBetween(before, Instant.now());
            });
    assertThat(view.queued().get(0).queuedAt()).isBeforeOrEqualTo(view.queued().get(1).queuedAt());

    // The gate opens one call at a time: the single caller takes the next as each one ends.
    int answered = 0;
    while (answered < 3) {
      Await.until(Duration.ofSeconds(5), "the next call runs", () -> gate.pending.size() > 0);
      answered += gate.releaseAll();
    }
    finishedOnly(probe, 3);
    Await.until(
        Duration.ofSeconds(5),
        "no call shown in flight or queued",
        () -> {
          NodeCalls now = pool.metrics().calls("node-a");
          return now.inFlight().isEmpty()
              && now.queued().isEmpty()
              && now.queueByProvider().isEmpty()
              && now.queueDepth() == 0;
        });
  }

  private static LlmCallerPool.Submit step(
      String jobId,
      int step,
      String stepName,
      int attempt,
      ActorRef<CallMessages.CallResult> replyTo) {
    return new LlmCallerPool.Submit(
        new CallMessages.Call(
            new LlmRequest(jobId, "Acme", step, stepName, attempt, "gated", "p"), replyTo));
  }

  private static LlmCallerPool.Submit submitTo(
      String provider, String jobId, ActorRef<CallMessages.CallResult> replyTo) {
    return new LlmCallerPool.Submit(
        new CallMessages.Call(
            new LlmRequest(jobId, "Acme", 0, "market", 1, provider, "prompt"), replyTo));
  }
}
