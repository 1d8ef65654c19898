package io.reportcluster.node.llm;

import java.util.List;

/**
 * The prompt of each report step. The last step is the synthesis: its prompt carries the
 * outputs of every earlier step, which is why a job persists each step's output.
 */
public final class ReportPrompts {
  private ReportPrompts() {}

  public static String prompt(String startup, List<String> stepNames, int step, List<String> earlierOutputs) {
    String name = stepNames.get(step);
    boolean synthesis = step == stepNames.size() - 1 && step > 0;
    if (!synthesis) {
      return "You are a venture analyst. Write the '" + name + "' section of a research report on the startup \""
          + startup + "\". Be specific and concise.";
    }
    StringBuilder sb = new StringBuilder()
        .append("You are a venture analyst. Write the final '").append(name)
        .append("' of a research report on the startup \"").append(startup)
        .append("\", using these sections:\n");
    for (int i = 0; i < earlierOutputs.size(); i++) {
      sb.append("\n## ").append(stepNames.get(i)).append("\n").append(earlierOutputs.get(i)).append("\n");
    }
    return sb.toString();
  }
}
