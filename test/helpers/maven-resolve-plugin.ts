/**
 * A minimal Maven plugin the test builds (javac against the machine's Maven core): its goal asks
 * Maven to resolve the project's runtime dependencies and prints them. Maven cannot run any goal
 * without downloading its plugin, and this machine has no Maven plugins installed; this one has
 * no dependencies of its own, so the fixture repository stays small while `mvn` itself resolves
 * ranges and transitive dependencies through the mirror.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const RESOLVE_PLUGIN = { groupId: 'org.example.fixture', artifactId: 'resolve-maven-plugin', version: '1.0' };

const MOJO = `package org.example.fixture;

import org.apache.maven.artifact.Artifact;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.project.MavenProject;

public class ResolveMojo extends AbstractMojo {
  private MavenProject project;

  public void execute() {
    for (Artifact a : project.getArtifacts()) getLog().info("resolved " + a.getId() + " " + a.getFile());
  }
}
`;

const PLUGIN_XML = `<?xml version="1.0" encoding="UTF-8"?>
<plugin>
  <name>resolve</name>
  <groupId>${RESOLVE_PLUGIN.groupId}</groupId>
  <artifactId>${RESOLVE_PLUGIN.artifactId}</artifactId>
  <version>${RESOLVE_PLUGIN.version}</version>
  <goalPrefix>resolve</goalPrefix>
  <mojos>
    <mojo>
      <goal>resolve</goal>
      <requiresDependencyResolution>runtime</requiresDependencyResolution>
      <requiresProject>true</requiresProject>
      <implementation>org.example.fixture.ResolveMojo</implementation>
      <language>java</language>
      <instantiationStrategy>per-lookup</instantiationStrategy>
      <executionStrategy>once-per-session</executionStrategy>
      <threadSafe>true</threadSafe>
      <parameters>
        <parameter><name>project</name><type>org.apache.maven.project.MavenProject</type><required>true</required><editable>false</editable></parameter>
      </parameters>
      <configuration>
        <project implementation="org.apache.maven.project.MavenProject">\${project}</project>
      </configuration>
    </mojo>
  </mojos>
  <dependencies/>
</plugin>
`;

export async function buildResolvePlugin(): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-mvn-plugin-'));
  try {
    await mkdir(join(dir, 'src/org/example/fixture'), { recursive: true });
    await mkdir(join(dir, 'classes/META-INF/maven'), { recursive: true });
    await writeFile(join(dir, 'src/org/example/fixture/ResolveMojo.java'), MOJO);
    await writeFile(join(dir, 'classes/META-INF/maven/plugin.xml'), PLUGIN_XML);
    await run('javac', ['--release', '8', '-nowarn', '-cp', '/usr/share/maven/lib/*', '-d', join(dir, 'classes'), join(dir, 'src/org/example/fixture/ResolveMojo.java')]);
    await run('jar', ['--create', '--file', join(dir, 'plugin.jar'), '-C', join(dir, 'classes'), '.']);
    return await readFile(join(dir, 'plugin.jar'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
