// The product in a real browser against a real `roost serve` (started by scripts/e2e.sh):
// two people follow and talk live, a moderator removes a reported post, and a user takes
// their data and leaves. Every main screen is photographed at desktop and phone sizes into
// web/test-results/. Any console error or page error fails the test it happened in.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { api, launch, results, openPage, png, shoot, signIn, signUp } from "./harness.mjs";

let browser;
const errors = [];
const pages = {};

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A test whose failure leaves a picture of every open page. */
function scenario(name, body) {
  test(name, async () => {
    try {
      await body();
    } catch (error) {
      for (const [who, page] of Object.entries(pages)) {
        if (!page.isClosed()) await page.screenshot({ path: `${results}failure-${who}.png` }).catch(() => {});
      }
      throw error;
    }
  });
}

function noErrors() {
  assert.deepEqual(errors.splice(0), [], "the browser reported errors");
}

scenario("two people follow each other's posts, likes and replies live", async () => {
  const alice = (pages.alice = await openPage(browser, errors));
  const bob = (pages.bob = await openPage(browser, errors));

  await alice.goto("/signup");
  await shoot(alice, "signup");
  await signUp(alice, "alice", "Alice Liddell");
  await signUp(bob, "bob", "Bob Builder");
  await bob.getByText("No suggestions yet").or(bob.getByRole("button", { name: /Follow/ }).first()).waitFor();
  await shoot(bob, "who-to-follow");

  // Bob follows Alice from her profile, and his feed is empty until she posts.
  await bob.goto("/u/alice");
  await bob.getByRole("button", { name: "Follow Alice Liddell" }).click();
  await bob.getByRole("button", { name: "Following Alice Liddell" }).waitFor();
  await bob.getByRole("link", { name: "1 follower" }).waitFor();
  await bob.getByRole("link", { name: "Home", exact: true }).click();
  await bob.getByText("Your feed is empty").waitFor();
  await shoot(bob, "home-empty");

  // Alice posts with an image; the preview shows before it is sent.
  await alice.goto("/");
  await alice.getByText("Your feed is empty").waitFor();
  await alice.getByLabel("What's happening?").fill("Hello Roost! First light over the harbour.");
  await alice.getByLabel("Add image").setInputFiles({ name: "harbour.png", mimeType: "image/png", buffer: png(640, 400) });
  await alice.getByRole("img", { name: "Preview of harbour.png" }).waitFor();
  await shoot(alice, "compose");
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  const mine = alice.getByRole("article", { name: "Post by Alice Liddell" });
  await mine.getByText("First light over the harbour").waitFor();
  const image = mine.getByRole("img", { name: "Image attached to the post" });
  assert.equal(await image.getAttribute("width"), "640", "the image's size is reserved");
  assert.equal(await image.getAttribute("loading"), "lazy");

  // Bob, who stayed on his feed, sees it arrive live.
  await bob.getByRole("button", { name: "Show 1 new post" }).click();
  const post = bob.getByRole("article", { name: "Post by Alice Liddell" });
  await post.getByText("First light over the harbour").waitFor();
  await post.getByRole("img", { name: "Image attached to the post" }).waitFor();

  // He likes it (shown at once) and replies to it.
  await post.getByRole("button", { name: "Like (0 likes)" }).click();
  await post.getByRole("button", { name: "Unlike (1 like)" }).waitFor();
  await shoot(bob, "home");
  await post.getByRole("link", { name: /Comments/ }).click();
  await bob.getByLabel("Write a comment").fill("Gorgeous colours, Alice!");
  await bob.getByRole("button", { name: "Comment", exact: true }).click();
  await bob.locator(".thread").getByText("Gorgeous colours, Alice!").waitFor();

  // Alice, still on her feed, sees the notifications arrive live on her badge (Bob's
  // follow, then his like and his comment) and the counts on her post.
  await alice.getByTestId("unread-badge").filter({ hasText: "3" }).waitFor();
  await mine.getByRole("button", { name: "Like (1 like)" }).waitFor();
  await mine.getByRole("link", { name: "Comments (1)" }).waitFor();
  await alice.getByRole("link", { name: /Notifications/ }).click();
  await alice.getByRole("link", { name: "followed you" }).waitFor();
  await alice.getByRole("link", { name: "liked your post" }).waitFor();
  await alice.getByRole("link", { name: "commented on your post" }).waitFor();
  await shoot(alice, "notifications");
  await alice.getByTestId("unread-badge").waitFor({ state: "detached" });

  // She answers Bob's comment in the thread.
  await alice.getByRole("link", { name: "commented on your post" }).click();
  await alice.getByRole("button", { name: "Reply" }).click();
  await alice.getByLabel("Reply to Bob Builder").fill("Thank you! It was cold, though.");
  await alice.getByRole("button", { name: "Reply", exact: true }).last().click();
  await alice.getByText("Thank you! It was cold, though.").waitFor();
  await shoot(alice, "post");
  await bob.getByTestId("unread-badge").waitFor();

  // Discovery: her profile, trending, search with autocomplete.
  await alice.goto("/u/alice");
  await alice.getByRole("heading", { name: "Alice Liddell" }).waitFor();
  await alice.getByText("First light over the harbour").waitFor();
  await shoot(alice, "profile");
  await alice.goto("/u/alice/followers");
  await alice.getByRole("link", { name: /Bob Builder/ }).waitFor();
  await bob.goto("/explore");
  await bob.getByText("First light over the harbour").waitFor();
  await shoot(bob, "explore");
  await bob.goto("/search");
  await bob.getByRole("combobox").fill("ali");
  await bob.getByRole("option", { name: /Alice Liddell/ }).waitFor();
  await shoot(bob, "search-autocomplete");
  await bob.getByRole("combobox").fill("harbour");
  await bob.getByRole("combobox").press("Enter");
  await bob.getByRole("article", { name: "Post by Alice Liddell" }).waitFor();
  await shoot(bob, "search");
  noErrors();
});

scenario("a moderator removes a reported post", async () => {
  const bob = pages.bob;
  const carol = (pages.carol = await openPage(browser, errors));
  await signUp(carol, "carol", "Carol");
  await carol.goto("/");
  await carol.getByLabel("What's happening?").fill("Cheap watches!!! Click my profile for deals");
  await carol.getByRole("button", { name: "Post", exact: true }).click();
  const spam = carol.getByRole("article", { name: "Post by Carol" });
  await spam.getByText("Cheap watches").waitFor();
  const postPath = await spam.getByRole("link", { name: /Comments/ }).getAttribute("href");

  // Bob reports it from the post's page.
  await bob.goto(postPath);
  await bob.getByRole("button", { name: "Report this post" }).click();
  await bob.getByLabel("Why should the moderators look at this post?").fill("Spam");
  await bob.getByRole("button", { name: "Send report" }).click();
  await bob.getByText("the moderators will review this post").waitFor();

  // Mira becomes a moderator from the command line, and signs in again to act as one.
  const mira = (pages.mira = await openPage(browser, errors));
  await signUp(mira, "mira", "Mira Moderator");
  execFileSync(process.env.ROOST_BIN, ["admin", "grant-moderator", "mira", "--data-dir", process.env.ROOST_E2E_DATA_DIR]);
  await mira.getByRole("button", { name: "Sign out" }).click();
  await mira.waitForURL("**/login");
  await shoot(mira, "signin");
  await signIn(mira, "mira");
  await mira.getByRole("link", { name: "Reports" }).click();
  const report = mira.getByRole("listitem", { name: "Report about a post" });
  await report.getByText("Cheap watches").waitFor();
  await shoot(mira, "moderation");
  await report.getByRole("button", { name: "Remove post" }).click();
  await mira.getByText("No open reports").waitFor();
  assert.equal((await api("GET", `/api${postPath.replace("/p/", "/posts/")}`)).status, 404, "the post is gone");

  // Operations: today's activity (GET /api/admin/stats), the cost per route (GET /api/admin/cost), the metrics.
  await mira.getByRole("link", { name: "Operations" }).click();
  await mira.getByRole("img", { name: /Active users per day/ }).waitFor();
  await mira.getByText(/Measured since/).waitFor();
  await mira.getByRole("rowheader", { name: "POST /api/posts", exact: true }).first().waitFor();
  // This instance's key metrics, from its own GET /metrics.
  await mira.getByText("Jobs queued").waitFor();
  await mira.getByRole("list", { name: "Cache hit ratio per kind" }).getByText("feed").waitFor();
  await shoot(mira, "operations", { fullPage: true });
  await carol.context().close();
  await mira.context().close();
  noErrors();
});

scenario("a user exports their data, then deletes their account", async () => {
  const bob = pages.bob;
  await bob.getByRole("link", { name: "Settings" }).click();
  await bob.getByLabel("Display name").waitFor();
  await shoot(bob, "settings");

  const [download] = await Promise.all([bob.waitForEvent("download"), bob.getByRole("button", { name: "Download my data" }).click()]);
  const archive = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(archive.profile.username, "bob");
  assert.equal(archive.comments.length, 1, "his comment is in the archive");
  assert.equal(archive.likes.length, 1, "and his like");

  await bob.getByLabel(/Type your username/).fill("bob");
  await bob.getByRole("button", { name: "Delete my account" }).click();
  await bob.waitForURL("**/login");
  const login = await api("POST", "/api/auth/login", { username: "bob", password: "correct horse battery" });
  assert.notEqual(login.status, 200, "the account is closed");
  await pages.alice.context().close();
  await bob.context().close();
  noErrors();
});
