package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.Browser;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (headless chromium) against a real node: embedded H2 journal,
 * Redis for live events, and two providers of the test's own. "simulated" answers each step after a
 * visible latency, and holds the first step of a startup named {@code Hold-...} while streaming its
 * text (delta events) until the job is cancelled; "flaky" refuses every prompt (a permanent
 * failure, so the job fails at once) until the test mends it. Any error or warning in the browser's
 * console (a failed load included) fails the test it happened in.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@DisplayName("the dashboard, in a browser")
class DashboardBrowserIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String HOLD = "Hold-";
  private static final Path SHOTS = Path.of("target", "dashboard-screenshots");
  private static final Set<String> TERMINAL = Set.of("SUCCESS", "FAILURE", "REVOKED");

  private Path dir;
  private TestRedis redis;
  private StreamingProvider simulated;
  private FlakyProvider flaky;
  private ReportNode node;
  private HttpJson http;
  private Browser browser;
  private ChromeDriver driver;
  private WebDriverWait wait;

  @BeforeAll
  void start() throws IOException {
    browser = Browser.start();
    driver = browser.driver();
    wait = browser.waiting(WAIT);
    dir = Files.createTempDirectory("dashboard-it");
    redis = new TestRedis();
    Config config =
        ConfigFactory.load(
            ConfigFactory.parseString(
                    String.join(
                        "\n",
                        redis.nodeConfig(),
                        "reports.node-name = dashboard-it-node",
                        "reports.http.port = 0",
                        "pekko.management.http.port = 0",
                        "reports.llm.callers = 2",
                        "reports.db.url = \"jdbc:h2:file:"
                            + dir.resolve("journal")
                            + ";DB_CLOSE_DELAY=-1\""))
                .withFallback(ConfigFactory.parseFile(TestDatabase.profileFile("embedded.conf"))));
    SimulatedProvider.Settings sim =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    simulated =
        new StreamingProvider(
            new SimulatedProvider("simulated", sim.withLatency(Duration.ofMillis(400), 0)));
    flaky =
        new FlakyProvider(
            new SimulatedProvider("flaky", sim.withLatency(Duration.ofMillis(100), 0)));
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put("simulated", simulated);
    providers.put("flaky", flaky);
    node = ReportNode.start(config, new ProviderRegistry(providers, "simulated"));
    http = new HttpJson(node.baseUrl());
    Await.until(
        WAIT, "live events up", () -> "up".equals(http.get("/api/v1/health").text("live_events")));
  }

  @AfterEach
  void theConsoleStayedClean() {
    List<String> problems = browser.consoleProblems();
    assertThat(problems).as("errors and warnings in the browser's console").isEmpty();
  }

  @AfterAll
  void stop() throws IOException {
    if (browser != null) browser.close();
    if (simulated != null) simulated.close();
    if (node != null) node.close();
    if (redis != null) redis.close();
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  // =================================================================== pages

  @Test
  @Order(1)
  @DisplayName("the overview shows this node, its callers and the cluster's members, live")
  void overviewShowsTheCluster() {
    open("");
    wait.until(ExpectedConditions.textToBe(By.cssSelector("main h1"), "Overview"));
    WebElement cluster = driver.findElement(By.id("ov-cluster"));
    wait.until(ExpectedConditions.textToBePresentInElement(cluster, "dashboard-it-node"));
    assertThat(cluster.getText()).contains("Up");
    wait.until(ExpectedConditions.textToBe(By.id("live"), "live"));
    assertThat(driver.findElement(By.cssSelector("main .subtitle")).getText())
        .contains("dashboard-it-node", "Redis up");
  }

  @Test
  @Order(2)
  @DisplayName(
      "a job submitted from the form appears in the table and finishes there, its startup shown as text")
  void submitFromTheForm() {
    open("#/jobs");
    String startup = "<img src=x id=pwned> & \"Q\" " + shortUnique();
    String id = submitFromForm(startup, null);
    wait.until(
        d -> startup.equals(d.findElement(By.cssSelector(rowOf(id) + " a.job-link")).getText()));
    assertThat(driver.findElements(By.id("pwned"))).as("server text is never HTML").isEmpty();
    wait.until(d -> "SUCCESS".equals(rowState(id)));
    wait.until(
        d ->
            "5 / 5"
                .equals(
                    d.findElement(By.cssSelector(rowOf(id) + " [data-label=Steps]")).getText()));
  }

  @Test
  @Order(3)
  @DisplayName("one job: its steps on a timeline and in a list, its tokens, its result as text")
  void oneJobShowsItsSteps() {
    String startup = "Acme <b>bold</b> " + shortUnique();
    String id = submitRest(startup, null);
    awaitState(id, "SUCCESS");
    open("#/jobs/" + id);
    wait.until(ExpectedConditions.textToBe(By.cssSelector("main h1"), startup));
    wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("li.step"), 5));
    List<WebElement> steps = driver.findElements(By.cssSelector("li.step"));
    assertThat(steps)
        .extracting(s -> s.findElement(By.cssSelector(".step-name")).getText())
        .containsExactly("market", "competitors", "team", "risks", "synthesis");
    assertThat(steps)
        .allSatisfy(
            s ->
                assertThat(s.findElement(By.cssSelector(".badge")).getText()).isEqualTo("SUCCESS"));
    assertThat(steps.get(0).getText()).contains("answered by simulated");
    assertThat(driver.findElements(By.cssSelector("svg.timeline .run"))).hasSize(5);
    assertThat(driver.findElement(By.cssSelector("pre.result")).getText())
        .isEqualTo(http.get("/api/v1/jobs/" + id).text("result"))
        .startsWith("Summary: " + startup);
    assertThat(driver.findElements(By.tagName("b"))).as("no markup from the startup").isEmpty();
    assertThat(driver.findElement(By.cssSelector(".facts")).getText()).contains("Tokens", " in");
    assertThat(buttons("Cancel job")).as("a finished job has no cancel").isEmpty();
    assertThat(buttons("Retry job")).as("retry only after FAILURE").isEmpty();
  }

  @Test
  @Order(4)
  @DisplayName("a running step's text streams in live, and Cancel revokes the job")
  void liveTextThenCancel() {
    open("#/jobs");
    String id = submitFromForm(HOLD + shortUnique(), null);
    driver.findElement(By.cssSelector(".form-result a")).click();
    wait.until(ExpectedConditions.urlContains("#/jobs/" + id));
    WebElement live = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("live-text")));
    wait.until(ExpectedConditions.textToBePresentInElement(live, "streamed piece"));
    assertThat(driver.findElement(By.id("live-title")).getText()).contains("market");
    WebElement cancel = wait.until(ExpectedConditions.elementToBeClickable(button("Cancel job")));
    cancel.click();
    wait.until(ExpectedConditions.textToBe(By.cssSelector(".job-badge .badge"), "REVOKED"));
    assertThat(http.get("/api/v1/jobs/" + id).text("state")).isEqualTo("REVOKED");
    wait.until(ExpectedConditions.invisibilityOf(cancel));
  }

  @Test
  @Order(5)
  @DisplayName(
      "keyboard: tabbing reaches a job's row link, which keeps the focus as jobs arrive; Enter opens it")
  void keyboardReachesRows() {
    String id = submitRest("Keys " + shortUnique(), null);
    awaitState(id, "SUCCESS");
    open("#/jobs");
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("a.job-link")));
    WebElement focused = null;
    for (int i = 0; i < 60; i++) {
      driver.switchTo().activeElement().sendKeys(Keys.TAB);
      focused = driver.switchTo().activeElement();
      if (focused.getAttribute("class") != null
          && focused.getAttribute("class").contains("job-link")) break;
    }
    assertThat(focused.getAttribute("class"))
        .as("a row's link took the focus")
        .contains("job-link");
    assertThat(browser.script("return getComputedStyle(document.activeElement).outlineStyle"))
        .as("the focused link shows an outline")
        .isNotEqualTo("none");
    String href = focused.getAttribute("href");
    focused.sendKeys(Keys.ENTER);
    wait.until(ExpectedConditions.urlToBe(href));
    wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("li.step"), 5));
    for (String page : List.of("", "#/jobs", "#/nodes", "#/jobs/" + id)) {
      open(page);
      wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("main h1")));
      assertThat(unlabelledInputs()).as("inputs without a label on %s", page).isEmpty();
    }
  }

  // =================================================================== history, retry, figures

  @Test
  @Order(6)
  @DisplayName("the table lists every job of the node: search, paging, state chips with counts")
  void filterAndSearch() {
    String tag = shortUnique();
    String first = submitRest("Findme-" + tag + "-first", null);
    awaitState(first, "SUCCESS");
    String failed = submitRest("Findme-" + tag + "-failed", "flaky");
    awaitState(failed, "FAILURE");
    String done = submitRest("Findme-" + tag + "-done", null);
    awaitState(done, "SUCCESS");
    open("#/jobs?limit=2");
    WebElement search = wait.until(ExpectedConditions.elementToBeClickable(By.id("job-search")));
    search.sendKeys("Findme-" + tag);
    // All three were submitted over REST, not from this page: only the history knows them.
    wait.until(ExpectedConditions.urlContains("q=Findme-" + tag));
    awaitRows(List.of(done, failed));
    WebElement next = driver.findElement(By.xpath("//nav[@class='pager']/button[2]"));
    WebElement previous = driver.findElement(By.xpath("//nav[@class='pager']/button[1]"));
    assertThat(previous.isEnabled()).isFalse();
    wait.until(ExpectedConditions.elementToBeClickable(next)).click();
    awaitRows(List.of(first));
    assertThat(next.isEnabled()).as("the last page has no next").isFalse();
    previous.click();
    awaitRows(List.of(done, failed));
    WebElement failureChip = driver.findElement(By.cssSelector("button[data-state=FAILURE]"));
    wait.until(ExpectedConditions.textToBePresentInElement(failureChip, "1"));
    failureChip.click();
    awaitRows(List.of(failed));
    assertThat(failureChip.getAttribute("aria-pressed")).isEqualTo("true");
    assertThat(driver.getCurrentUrl()).contains("state=FAILURE", "q=Findme-" + tag);
    driver.findElement(By.cssSelector("button[data-state='']")).click();
    awaitRows(List.of(done, failed));
  }

  @Test
  @Order(7)
  @DisplayName("Retry runs a failed job again, and it succeeds")
  void retryAFailedJob() {
    String id = submitRest("Mended " + shortUnique(), "flaky");
    awaitState(id, "FAILURE");
    open("#/jobs/" + id);
    wait.until(ExpectedConditions.textToBe(By.cssSelector(".job-badge .badge"), "FAILURE"));
    assertThat(driver.findElement(By.cssSelector(".job-error")).getText()).contains("flaky");
    assertThat(buttons("Cancel job")).as("a failed job has no cancel").isEmpty();
    flaky.mend();
    try {
      wait.until(ExpectedConditions.elementToBeClickable(button("Retry job"))).click();
      wait.until(ExpectedConditions.textToBe(By.cssSelector(".job-badge .badge"), "SUCCESS"));
    } finally {
      flaky.breakAgain();
    }
    assertThat(http.get("/api/v1/jobs/" + id).text("state")).isEqualTo("SUCCESS");
    assertThat(buttons("Retry job")).isEmpty();
  }

  @Test
  @Order(8)
  @DisplayName("the overview counts jobs per state, charts them and shows budgets")
  void overviewCountsAndCharts() {
    String id = submitRest("Counted " + shortUnique(), null);
    awaitState(id, "SUCCESS");
    open("");
    WebElement success =
        wait.until(
            ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("#ov-states a[href='#/jobs?state=SUCCESS'] .count")));
    assertThat(Integer.parseInt(success.getText().replace(",", ""))).isPositive();
    wait.until(
        ExpectedConditions.presenceOfElementLocated(By.cssSelector("#ov-throughput svg rect.bar")));
    wait.until(
        ExpectedConditions.presenceOfElementLocated(By.cssSelector("#ov-latency svg path.line")));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("ov-providers"), "flaky"));
  }

  @Test
  @Order(9)
  @DisplayName("the nodes page lists a call in flight with its job and step")
  void nodesPageShowsCallsInFlight() {
    String id = submitRest(HOLD + shortUnique(), null);
    try {
      awaitState(id, "STARTED");
      open("#/nodes");
      By panel = By.cssSelector(".nodes .panel");
      wait.until(ExpectedConditions.textToBePresentInElementLocated(panel, "dashboard-it-node"));
      // The call's row: its job's link, its step and its provider (the page redraws as calls move).
      By row = By.xpath("//table[caption='In flight']//tr[.//a[@href='#/jobs/" + id + "']]");
      wait.until(ExpectedConditions.textToBePresentInElementLocated(row, "market"));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(row, "simulated"));
    } finally {
      http.delete("/api/v1/jobs/" + id);
    }
  }

  // =================================================================== screenshots

  @Test
  @Order(10)
  @DisplayName(
      "every page fits a laptop (1366x768) and a phone (390x844) without sideways scrolling")
  void screenshots() throws IOException {
    String done = submitRest("Screenshot Labs " + shortUnique(), null);
    String failed = submitRest("Broken Co " + shortUnique(), "flaky");
    awaitState(done, "SUCCESS");
    awaitState(failed, "FAILURE");
    String held = submitRest(HOLD + "Screens " + shortUnique(), null);
    awaitState(held, "STARTED");
    Map<String, String> pages = new LinkedHashMap<>();
    pages.put("overview", "");
    pages.put("jobs", "#/jobs");
    pages.put("job", "#/jobs/" + done);
    pages.put("job-running", "#/jobs/" + held);
    pages.put("nodes", "#/nodes");
    List<String> tooWide = new ArrayList<>();
    try {
      for (int[] size : new int[][] {{1366, 768}, {390, 844}}) {
        browser.viewport(size[0], size[1]);
        for (Map.Entry<String, String> page : pages.entrySet()) {
          open(page.getValue());
          wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("main h1")));
          settle(page.getKey());
          browser.screenshot(SHOTS, page.getKey() + "-" + size[0] + "x" + size[1]);
          long scrollWidth =
              ((Number) browser.script("return document.documentElement.scrollWidth")).longValue();
          if (scrollWidth > size[0])
            tooWide.add(page.getKey() + " at " + size[0] + ": " + scrollWidth);
        }
      }
    } finally {
      http.delete("/api/v1/jobs/" + held);
      browser.viewport(1366, 900);
    }
    assertThat(tooWide).as("pages wider than the screen").isEmpty();
  }

  /** Waits until the page shows its data (not its loading state) before a screenshot. */
  private void settle(String page) {
    switch (page) {
      case "overview" ->
          wait.until(
              ExpectedConditions.textToBePresentInElementLocated(
                  By.id("ov-cluster"), "dashboard-it-node"));
      case "jobs" -> wait.until(d -> !visibleRows().isEmpty());
      case "job" ->
          wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("pre.result")));
      case "job-running" ->
          wait.until(
              ExpectedConditions.textToBePresentInElementLocated(By.id("live-text"), "streamed"));
      default ->
          wait.until(
              ExpectedConditions.textToBePresentInElementLocated(
                  By.cssSelector("main"), "dashboard-it-node"));
    }
  }

  // =================================================================== helpers

  private void open(String fragment) {
    driver.get(node.baseUrl() + "/dashboard" + fragment);
  }

  private static String shortUnique() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  /** Submits from the Jobs page's form and returns the new job's id (from the link it shows). */
  private String submitFromForm(String startup, String provider) {
    WebElement input = wait.until(ExpectedConditions.elementToBeClickable(By.id("submit-startup")));
    input.sendKeys(startup);
    if (provider != null)
      new Select(driver.findElement(By.id("submit-provider"))).selectByValue(provider);
    driver.findElement(By.cssSelector("form.submit-form button[type=submit]")).click();
    WebElement link =
        wait.until(
            ExpectedConditions.presenceOfElementLocated(By.cssSelector(".form-result.ok a")));
    assertThat(link.getText()).isEqualTo(startup);
    String href = link.getAttribute("href");
    return href.substring(href.indexOf("#/jobs/") + "#/jobs/".length());
  }

  private String submitRest(String startup, String provider) {
    String body =
        provider == null
            ? "{\"startup\": \"" + startup + "\"}"
            : "{\"startup\": \"" + startup + "\", \"provider\": \"" + provider + "\"}";
    HttpJson.Reply r = http.postJson("/api/v1/jobs", body);
    assertThat(r.status()).as("submit %s", r.raw().body()).isEqualTo(202);
    return r.text("job_id");
  }

  private void awaitState(String id, String state) {
    String last =
        Await.value(
            WAIT,
            "job " + id + " in " + state,
            () -> http.get("/api/v1/jobs/" + id).text("state"),
            s -> state.equals(s) || TERMINAL.contains(s));
    assertThat(last).isEqualTo(state);
  }

  private static String rowOf(String id) {
    return "#jobs-table tr[data-job='" + id + "']";
  }

  private String rowState(String id) {
    List<WebElement> badges = driver.findElements(By.cssSelector(rowOf(id) + " .badge"));
    return badges.isEmpty() ? null : badges.get(0).getText();
  }

  /** Waits until the table shows these rows, and no newer answer is on its way. */
  private void awaitRows(List<String> ids) {
    wait.until(
        d ->
            "false".equals(d.findElement(By.id("jobs-table")).getAttribute("aria-busy"))
                && visibleRows().equals(ids));
  }

  /** The job ids of the table's rows, read in one go (rows come and go while it updates). */
  @SuppressWarnings("unchecked")
  private List<String> visibleRows() {
    return (List<String>)
        browser.script(
            "return [...document.querySelectorAll('#jobs-table tbody tr[data-job]')]"
                + ".map(tr => tr.dataset.job)");
  }

  private By button(String text) {
    return By.xpath("//main//button[normalize-space()='" + text + "']");
  }

  /** Visible buttons with this text. */
  private List<WebElement> buttons(String text) {
    return driver.findElements(button(text)).stream().filter(WebElement::isDisplayed).toList();
  }

  @SuppressWarnings("unchecked")
  private List<String> unlabelledInputs() {
    return (List<String>)
        browser.script(
            "return [...document.querySelectorAll('input:not([type=hidden]):not([hidden]), select, textarea')]"
                + ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
                + ".map(e => e.id || e.name || e.outerHTML)");
  }

  // =================================================================== providers

  /**
   * Answers after a latency; a {@code Hold-} job's first step instead streams pieces of text every
   * 100 ms and never answers, until cancelled.
   */
  static final class StreamingProvider implements LlmProvider, AutoCloseable {
    private final LlmProvider delegate;
    private final ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "dashboard-it-stream");
              t.setDaemon(true);
              return t;
            });

    StreamingProvider(LlmProvider delegate) {
      this.delegate = delegate;
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
      if (!request.startup().startsWith(HOLD) || request.step() != 0)
        return delegate.start(request);
      AtomicInteger pieces = new AtomicInteger();
      ScheduledFuture<?> streaming =
          timer.scheduleAtFixedRate(
              () -> onDelta.accept("streamed piece " + pieces.incrementAndGet() + ". "),
              0,
              100,
              TimeUnit.MILLISECONDS);
      return LlmCall.of(new CompletableFuture<>(), () -> streaming.cancel(false));
    }

    @Override
    public void close() {
      timer.shutdownNow();
    }
  }

  /** Refuses every prompt (400: a permanent failure) until mended. */
  static final class FlakyProvider implements LlmProvider {
    private final LlmProvider delegate;
    private final AtomicBoolean broken = new AtomicBoolean(true);

    FlakyProvider(LlmProvider delegate) {
      this.delegate = delegate;
    }

    void mend() {
      broken.set(false);
    }

    void breakAgain() {
      broken.set(true);
    }

    @Override
    public String name() {
      return delegate.name();
    }

    @Override
    public LlmCall start(LlmRequest request) {
      if (!broken.get()) return delegate.start(request);
      return LlmCall.of(
          CompletableFuture.failedFuture(
              new LlmCallException(
                  LlmCallException.Kind.BAD_REQUEST, "flaky: the prompt was refused (test)")),
          () -> {});
    }
  }
}
