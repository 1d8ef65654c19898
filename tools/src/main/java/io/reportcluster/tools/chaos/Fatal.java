package io.reportcluster.tools.chaos;

/** The cluster or its stores could not be set up or read: exit status 3. */
final class Fatal extends RuntimeException {
  private static final long serialVersionUID = 1L;

  Fatal(String message) {
    super(message);
  }
}
