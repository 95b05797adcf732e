// Community world cups: the list on the home page, making a cup (photos from the camera roll,
// with upload progress), comments with the champion, report buttons, and the admins' queue.

import { h, replace, uid } from '../dom.js';
import { ApiError, get, post, patch, put, del, query } from '../api.js';
import { t, fmtNumber, fmtDate } from '../i18n.js';
import { state, navigate, loginHref } from '../state.js';
import { busy, errorBox, errorMessage, field, foodImage, messageSlot, pageTitle, showFieldErrors, clearFieldErrors, toast, badge, removeRow, picture } from '../ui.js';

const MIN_FOODS = 4;
const MAX_FOODS = 128;
const REASONS = ['spam', 'sexual', 'hateful', 'copyright', 'other'];

// ---------------------------------------------------------------------------------------
// The community list (home page)

/** The home page's community section: search box, sort, the list and "more". */
export function communitySection() {
  const list = h('ul', { class: 'book-list', 'data-testid': 'community-list' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, t('common.more'));
  const status = messageSlot();
  const q = h('input', { type: 'search', name: 'q', maxlength: '30', 'aria-label': t('community.search'), placeholder: t('community.search') });
  const sort = h('select', { name: 'sort', 'aria-label': t('community.sort') },
    h('option', { value: 'popular' }, t('community.sort_popular')),
    h('option', { value: 'new' }, t('community.sort_new')));
  let cursor = null;

  async function load(reset) {
    status.clear();
    if (reset) {
      cursor = null;
      replace(list);
    }
    try {
      const page = await get(`/community/books${query({ sort: sort.value, q: q.value.trim(), limit: 20, cursor })}`);
      list.append(...page.items.map(communityCard));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (reset && !page.items.length) status.showInfo(t(q.value.trim() ? 'community.none_found' : 'community.none'));
    } catch (err) {
      status.showError(err);
    }
  }
  const form = h('form', { class: 'community-search', role: 'search', onsubmit: (e) => { e.preventDefault(); load(true); } },
    q, sort, h('button', { type: 'submit', class: 'btn btn-secondary' }, t('community.search_button')));
  sort.addEventListener('change', () => load(true));
  more.addEventListener('click', () => busy(more, () => load(false)));
  load(true);
  return h('section', { class: 'section community', 'aria-labelledby': 'community-title' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'community-title' }, t('community.title')),
      h('a', { class: 'btn btn-primary', href: '/make', 'data-testid': 'make-cup' }, t('community.make'))),
    form, status, list, more);
}

function communityCard(book) {
  const cover = book.cover_url
    ? picture(book.cover_url, book.cover_webp_url, { class: 'book-cover', alt: '', width: '96', height: '84', loading: 'lazy', decoding: 'async' })
    : h('div', { class: 'book-cover img-placeholder', 'aria-hidden': 'true' }, h('span', null, book.name.slice(0, 1)));
  return h('li', { class: 'book', 'data-book-id': String(book.id) },
    h('a', { class: 'book-link', href: `/books/${book.id}` },
      cover,
      h('span', { class: 'book-text' },
        h('span', { class: 'book-name' }, book.name),
        h('span', { class: 'book-meta' }, t('community.by', { name: book.owner?.display_name || '' }), ' · ',
          t('home.book_meta', { foods: fmtNumber(book.food_count), plays: fmtNumber(book.play_count) })))));
}

/** The owner, description, visibility and report button of a community book (book page). */
export function bookByline(book) {
  if (book.kind !== 'community') return null;
  const mine = state.user && (state.user.username === book.owner?.username || state.user.is_admin);
  return h('div', { class: 'byline' },
    h('p', { class: 'owner', 'data-testid': 'book-owner' }, t('community.by', { name: book.owner?.display_name || '' })),
    book.description ? h('p', { class: 'book-desc' }, book.description) : null,
    book.hidden ? h('p', { class: 'alert alert-info' }, t('community.hidden_notice')) : null,
    book.visibility !== 'public' ? badge(t(`community.visibility_${book.visibility}`)) : null,
    h('div', { class: 'row' },
      mine ? h('a', { class: 'btn btn-secondary', href: `/make/${book.id}` }, t('community.edit')) : null,
      reportButton(`/books/${book.id}/reports`)));
}

// ---------------------------------------------------------------------------------------
// Reports

/** A small "report" disclosure: reason, optional detail, send. */
export function reportButton(path) {
  const reasonId = uid('reason');
  const reason = h('select', { id: reasonId, name: 'reason' }, REASONS.map((r) => h('option', { value: r }, t(`report.reason_${r}`))));
  const detail = h('input', { type: 'text', name: 'detail', maxlength: '300', 'aria-label': t('report.detail'), placeholder: t('report.detail') });
  const send = h('button', { type: 'submit', class: 'btn btn-secondary' }, t('report.send'));
  const box = h('details', { class: 'report' },
    h('summary', null, t('report.open')),
    h('form', {
      class: 'report-form',
      onsubmit: (e) => {
        e.preventDefault();
        busy(send, async () => {
          try {
            await post(path, { reason: reason.value, detail: detail.value.trim() || undefined });
            toast(t('report.sent'));
            box.open = false;
          } catch (err) {
            toast(err.code === 'conflict' ? t('report.already') : errorMessage(err));
          }
        });
      },
    }, h('label', { for: reasonId }, t('report.reason')), reason, detail, send));
  return box;
}

// ---------------------------------------------------------------------------------------
// Comments

/** Comments of a book, newest first, with a form; `worldcupId` offers to attach that cup. */
export function commentsSection(book, { worldcupId = null } = {}) {
  const list = h('ul', { class: 'comments', 'data-testid': 'comments' });
  const status = messageSlot();
  const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, t('common.more'));
  let cursor = null;
  const ownerName = book.owner?.username;

  function item(c) {
    const canDelete = state.user && (state.user.is_admin || state.user.username === c.author.username || state.user.username === ownerName);
    const li = h('li', { class: 'comment', 'data-comment-id': String(c.id) },
      h('p', { class: 'comment-head' },
        h('strong', null, c.author.display_name), ' ',
        h('span', { class: 'hint' }, fmtDate(c.created_at)),
        c.hidden ? badge(t('community.hidden')) : null),
      c.champion
        ? h('p', { class: 'comment-champion' }, foodImage(c.champion, { className: 'thumb', alt: false }),
            t('comments.champion', { name: c.champion.name }))
        : null,
      h('p', { class: 'comment-text' }, c.text),
      h('div', { class: 'row' },
        canDelete
          ? h('button', {
              type: 'button', class: 'btn btn-ghost',
              onclick: (e) => busy(e.currentTarget, async () => {
                try {
                  await del(`/comments/${c.id}`);
                  removeRow(li, t('comments.none'));
                } catch (err) {
                  toast(errorMessage(err));
                }
              }),
            }, t('comments.delete'))
          : null,
        reportButton(`/comments/${c.id}/reports`)));
    return li;
  }

  async function load(reset) {
    status.clear();
    if (reset) {
      cursor = null;
      replace(list);
    }
    try {
      const page = await get(`/books/${book.id}/comments${query({ limit: 20, cursor })}`);
      list.append(...page.items.map(item));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (reset && !page.items.length) status.showInfo(t('comments.none'));
    } catch (err) {
      status.showError(err);
    }
  }
  more.addEventListener('click', () => busy(more, () => load(false)));

  let form = null;
  if (state.user) {
    const text = field({ name: 'text', label: t('comments.label'), type: 'textarea', required: true, attrs: { maxlength: '300', rows: '3' } });
    const attachId = uid('attach');
    const attach = worldcupId ? h('input', { type: 'checkbox', id: attachId, checked: true }) : null;
    const send = h('button', { type: 'submit', class: 'btn btn-primary' }, t('comments.post'));
    const errors = messageSlot();
    form = h('form', {
      class: 'comment-form',
      onsubmit: (e) => {
        e.preventDefault();
        busy(send, async () => {
          errors.clear();
          clearFieldErrors(form);
          try {
            const body = { text: text.input.value };
            if (attach?.checked) body.worldcup_id = worldcupId;
            const created = await post(`/books/${book.id}/comments`, body);
            text.input.value = '';
            status.clear();
            list.prepend(item(created));
          } catch (err) {
            errors.showError(err, { conflict: 'comments.repeat' }, showFieldErrors(form, err));
          }
        });
      },
    }, text.wrap,
    attach ? h('p', { class: 'check' }, attach, h('label', { for: attachId }, t('comments.attach'))) : null,
    errors, send);
  }
  load(true);
  return h('section', { class: 'section comments-section', 'aria-labelledby': 'comments-title' },
    h('h2', { id: 'comments-title' }, t('comments.title')),
    form || h('p', null, h('a', { href: loginHref() }, t('comments.login'))),
    status, list, more);
}

// ---------------------------------------------------------------------------------------
// Making a cup

/** Uploads one image with progress events (fetch has none for uploads). */
export function uploadWithProgress(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/images');
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let data = {};
      try {
        data = JSON.parse(xhr.responseText || '{}');
      } catch {
        data = {};
      }
      if (xhr.status === 201) resolve(data);
      else reject(new ApiError(xhr.status, data, xhr.getResponseHeader('Retry-After')));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, { code: 'network' })));
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}

/** `/make`: a new community book; `/make/{id}`: its foods, settings and deletion. */
export async function makeCupView(ctx) {
  ctx.setTitle(t('make.title'));
  if (!state.user) {
    ctx.redirect(loginHref());
    return h('div');
  }
  if (state.user.is_guest) {
    return h('div', null, pageTitle(t('make.title')), h('div', { class: 'alert alert-info' }, t('make.guest')));
  }
  if (ctx.params.id) return editCup(ctx, ctx.params.id);

  const name = field({ name: 'name', label: t('make.name'), required: true, attrs: { maxlength: '30' } });
  const description = field({ name: 'description', label: t('make.description'), type: 'textarea', attrs: { maxlength: '200', rows: '2' } });
  const visibility = visibilityField('public');
  const create = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'create-cup' }, t('make.create'));
  const errors = messageSlot();
  const form = h('form', {
    class: 'card',
    onsubmit: (e) => {
      e.preventDefault();
      busy(create, async () => {
        errors.clear();
        clearFieldErrors(form);
        try {
          const book = await post('/books', { name: name.input.value, description: description.input.value, visibility: visibility.select.value });
          navigate(`/make/${book.id}`);
        } catch (err) {
          errors.showError(err, { conflict: 'make.name_taken' }, showFieldErrors(form, err));
        }
      });
    },
  }, name.wrap, description.wrap, visibility.wrap, errors, create);

  const mine = h('ul', { class: 'book-list' });
  get('/me/books?limit=50').then((page) => {
    replace(mine, page.items.map((b) => h('li', { class: 'book' },
      h('a', { class: 'book-link', href: `/make/${b.id}` },
        h('span', { class: 'book-text' },
          h('span', { class: 'book-name' }, b.name),
          h('span', { class: 'book-meta' }, t(`community.visibility_${b.visibility}`), ' · ', t('home.book_meta', { foods: fmtNumber(b.food_count), plays: fmtNumber(b.play_count) })))))));
  }).catch(() => {});
  return h('div', { class: 'make' }, pageTitle(t('make.title')), h('p', { class: 'lead' }, t('make.lead')), form,
    h('section', { class: 'section' }, h('h2', null, t('make.mine')), mine));
}

function visibilityField(value) {
  const id = uid('visibility');
  const select = h('select', { id, name: 'visibility' },
    ['public', 'unlisted', 'private'].map((v) => h('option', { value: v, selected: v === value }, t(`community.visibility_${v}`))));
  return { select, wrap: h('div', { class: 'field' }, h('label', { for: id }, t('make.visibility')), select, h('p', { class: 'hint' }, t('make.visibility_hint'))) };
}

/** Editing one cup: add photos (each a food), add catalog foods, remove, settings, delete. */
async function editCup(ctx, id) {
  const book = await get(`/books/${encodeURIComponent(id)}`);
  ctx.setTitle(t('make.edit_title', { name: book.name }));
  const foods = book.foods || [];
  const reload = () => navigate(`/make/${book.id}`, { replace: true });

  const count = h('p', { class: 'lead', 'data-testid': 'food-total' },
    t('make.count', { count: fmtNumber(foods.length), min: MIN_FOODS, max: MAX_FOODS }));
  const playable = foods.length >= MIN_FOODS;

  // Photos from the camera roll: each becomes a row with its own progress and name.
  const rows = h('ul', { class: 'upload-rows' });
  const save = h('button', { type: 'button', class: 'btn btn-primary', hidden: true, 'data-testid': 'save-foods' }, t('make.save_foods'));
  const pending = [];
  const pickerId = uid('photos');
  const picker = h('input', { type: 'file', id: pickerId, accept: 'image/*', multiple: true, class: 'file-input', 'data-testid': 'photo-picker' });
  picker.addEventListener('change', () => {
    for (const file of picker.files) {
      const entry = { file, key: null, failed: false };
      const progress = h('progress', { max: '1', value: '0', 'aria-label': t('make.uploading', { name: file.name }) });
      const nameInput = h('input', { type: 'text', maxlength: '15', value: file.name.replace(/\.[^.]+$/, '').slice(0, 15), 'aria-label': t('make.food_name') });
      const line = h('input', { type: 'text', maxlength: '30', placeholder: t('make.food_line'), 'aria-label': t('make.food_line') });
      const credit = h('input', { type: 'text', maxlength: '30', placeholder: t('make.credit'), 'aria-label': t('make.credit') });
      const note = h('p', { class: 'hint', 'aria-live': 'polite' }, t('make.uploading', { name: file.name }));
      const preview = h('img', { class: 'thumb', src: URL.createObjectURL(file), alt: '' });
      Object.assign(entry, { nameInput, line, credit, note });
      rows.append(h('li', { class: 'upload-row' }, preview, h('div', { class: 'upload-fields' }, nameInput, line, credit, progress, note)));
      pending.push(entry);
      entry.done = uploadWithProgress(file, (p) => { progress.value = p; })
        .then((image) => {
          entry.key = image.key;
          progress.value = 1;
          note.textContent = t('make.uploaded');
        })
        .catch((err) => {
          entry.failed = true;
          note.textContent = errorMessage(err);
        });
    }
    picker.value = '';
    save.hidden = pending.length === 0;
  });
  const saveErrors = messageSlot();
  save.addEventListener('click', () => busy(save, async () => {
    saveErrors.clear();
    for (const entry of [...pending]) {
      await entry.done;
      if (!entry.key) continue;
      try {
        await post(`/books/${book.id}/foods`, {
          name: entry.nameInput.value, description: entry.line.value, credit: entry.credit.value, image_key: entry.key,
        });
        pending.splice(pending.indexOf(entry), 1);
      } catch (err) {
        entry.note.textContent = errorMessage(err, { conflict: 'make.food_taken' });
        saveErrors.showError(err, { conflict: 'make.food_taken' });
        return;
      }
    }
    reload();
  }));

  // Catalog foods, found by name.
  const catalogIds = foods.map((f) => f.id);
  const search = h('input', { type: 'search', maxlength: '30', placeholder: t('make.catalog_search'), 'aria-label': t('make.catalog_search') });
  const results = h('ul', { class: 'catalog-results' });
  const searchForm = h('form', {
    class: 'row',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const page = await get(`/foods${query({ q: search.value.trim(), limit: 20 })}`);
        replace(results, page.items.filter((f) => !catalogIds.includes(f.id)).map((f) => h('li', null,
          foodImage(f, { className: 'thumb', alt: false }), h('span', null, f.name),
          h('button', {
            type: 'button', class: 'btn btn-secondary', 'data-food-name': f.name,
            onclick: (ev) => busy(ev.currentTarget, async () => {
              try {
                await put(`/books/${book.id}/foods`, { food_ids: [...catalogIds, f.id] });
                reload();
              } catch (err) {
                toast(errorMessage(err));
              }
            }),
          }, t('make.add')))));
      } catch (err) {
        replace(results, errorBox(err));
      }
    },
  }, search, h('button', { type: 'submit', class: 'btn btn-secondary' }, t('make.find')));

  const list = h('ul', { class: 'exclusions' }, foods.map((food) => h('li', null,
    foodImage(food, { className: 'thumb', alt: false }), h('span', null, food.name),
    h('button', {
      type: 'button', class: 'btn btn-ghost', 'aria-label': t('make.remove', { name: food.name }),
      onclick: (e) => busy(e.currentTarget, async () => {
        try {
          await del(`/books/${book.id}/foods/${food.id}`);
          reload();
        } catch (err) {
          toast(errorMessage(err));
        }
      }),
    }, '✕'))));

  const visibility = visibilityField(book.visibility);
  visibility.select.addEventListener('change', async () => {
    try {
      await patch(`/books/${book.id}`, { visibility: visibility.select.value });
      toast(t('make.saved'));
    } catch (err) {
      toast(errorMessage(err));
    }
  });
  const remove = h('button', {
    type: 'button', class: 'btn btn-ghost',
    onclick: (e) => {
      if (!window.confirm(t('make.delete_confirm', { name: book.name }))) return;
      busy(e.currentTarget, async () => {
        try {
          await del(`/books/${book.id}`);
          navigate('/make');
        } catch (err) {
          toast(errorMessage(err));
        }
      });
    },
  }, t('make.delete'));
  const shareUrl = `${window.location.origin}/books/${book.id}`;

  return h('div', { class: 'make' },
    pageTitle(book.name),
    count,
    playable
      ? h('p', null, h('a', { class: 'btn btn-primary', href: `/books/${book.id}`, 'data-testid': 'play-own' }, t('make.play')), ' ',
          h('span', { class: 'hint', 'data-testid': 'share-url' }, shareUrl))
      : h('p', { class: 'alert alert-info' }, t('make.need_more', { min: MIN_FOODS })),
    h('section', { class: 'section card' },
      h('h2', null, t('make.photos')),
      h('label', { for: pickerId, class: 'btn btn-secondary' }, t('make.pick_photos')), picker,
      h('p', { class: 'hint' }, t('make.photos_hint')),
      rows, saveErrors, save),
    h('section', { class: 'section card' }, h('h2', null, t('make.catalog')), searchForm, results),
    h('section', { class: 'section' }, h('h2', null, t('make.foods')), list),
    h('section', { class: 'section card' }, visibility.wrap, remove));
}

// ---------------------------------------------------------------------------------------
// The admins' report queue

/** Admin tab: reports, open first, each with dismiss / hide / delete. */
export async function reportsTab(panel) {
  const list = h('ul', { class: 'reports', 'data-testid': 'reports' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, t('common.more'));
  let cursor = null;
  async function load(reset) {
    if (reset) {
      cursor = null;
      replace(list);
    }
    const page = await get(`/reports${query({ limit: 50, cursor })}`);
    list.append(...page.items.map(item));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (reset && !page.items.length) list.append(h('li', { class: 'empty' }, t('reports.none')));
  }
  function item(r) {
    const target = r.target;
    const where = target.book_id ? `/books/${target.book_id}` : null;
    const actions = ['dismiss', 'hide', 'delete'].map((action) => h('button', {
      type: 'button', class: action === 'delete' ? 'btn btn-ghost' : 'btn btn-secondary', 'data-action': action,
      onclick: (e) => busy(e.currentTarget, async () => {
        try {
          await post(`/reports/${r.id}/resolve`, { action });
          toast(t(`reports.done_${action}`));
          await load(true);
        } catch (err) {
          toast(errorMessage(err));
        }
      }),
    }, t(`reports.${action}`)));
    return h('li', { class: 'report-item', 'data-report-id': String(r.id) },
      h('p', null, badge(r.status === 'open' ? t('reports.open') : t(`reports.status_${r.status}`), r.status === 'open' ? 'badge-open' : ''), ' ',
        h('strong', null, t(`reports.kind_${target.kind}`)), ' ',
        target.exists ? (where ? h('a', { href: where }, target.text) : target.text) : h('em', null, t('reports.gone')),
        target.hidden ? badge(t('community.hidden')) : null),
      h('p', { class: 'hint' },
        t(`report.reason_${r.reason}`), r.detail ? ` — ${r.detail}` : '', ' · ',
        t('reports.by', { name: r.reporter?.display_name || t('reports.anonymous') }), ' · ',
        t('reports.count', { count: fmtNumber(r.open_reports) }), ' · ', fmtDate(r.created_at)),
      target.exists ? h('div', { class: 'row' }, actions) : null);
  }
  more.addEventListener('click', () => busy(more, () => load(false)));
  replace(panel, h('h2', null, t('admin.tab_reports')), list, more);
  await load(true);
}
