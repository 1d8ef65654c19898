package io.reportcluster.tools.cli;

/** Bad options: the tool prints the message and a hint to its help, and exits with status 2. */
public final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
