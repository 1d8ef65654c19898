package io.reportcluster.node.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's chromium, headless, driven by its chromedriver: both found at fixed paths, never
 * downloaded (Selenium Manager is kept out: the machine may have no internet). The browser's
 * console is recorded, so a test can fail on any error or warning a page logs.
 */
public final class Browser implements AutoCloseable {
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  private final ChromeDriver driver;
  private final ChromeDriverService service;

  private Browser(ChromeDriverService service, ChromeDriver driver) {
    this.service = service;
    this.driver = driver;
  }

  /**
   * Starts the browser, or skips the test when chromium is not installed (fails instead on CI,
   * where ops/test installs it: a browser test must not go silently missing there).
   */
  public static Browser start() {
    boolean installed = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!installed) {
      String why =
          "chromium and chromedriver are needed at "
              + CHROMIUM
              + " and "
              + CHROMEDRIVER
              + " (apt-get install -y chromium chromium-driver; ops/test installs them)";
      if ("true".equals(System.getenv("CI"))) throw new AssertionError(why);
      Assumptions.assumeTrue(false, why);
    }
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1366,900",
        "--lang=en-US");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    return new Browser(service, new ChromeDriver(service, options));
  }

  public ChromeDriver driver() {
    return driver;
  }

  public WebDriverWait waiting(Duration deadline) {
    // The pages redraw their tables as events arrive: an element read mid-redraw is stale, and the
    // condition is simply asked again.
    WebDriverWait wait = new WebDriverWait(driver, deadline, Duration.ofMillis(50));
    wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
    return wait;
  }

  /** The layout viewport of a screen this size (and a phone's, narrower than 600 px). */
  public void viewport(int width, int height) {
    driver.executeCdpCommand(
        "Emulation.setDeviceMetricsOverride",
        Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", width < 600));
  }

  public Object script(String js, Object... args) {
    return driver.executeScript(js, args);
  }

  /** The viewport as a PNG under {@code dir}. */
  public Path screenshot(Path dir, String name) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(name + ".png");
    Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
    return file;
  }

  /** Errors and warnings the pages logged since the last call: the console's and failed loads. */
  public List<String> consoleProblems() {
    List<String> problems = new ArrayList<>();
    for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
      if (e.getLevel().intValue() >= Level.WARNING.intValue())
        problems.add(e.getLevel() + " " + e.getMessage());
    }
    return problems;
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      service.stop();
    }
  }
}
