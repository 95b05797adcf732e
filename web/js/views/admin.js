// Admin catalog manager: foods, books (with members), categories, quiz pairs, image upload.

import { h, replace, uid } from '../dom.js';
import { get, post, patch, put, del, query } from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { state, loginHref } from '../state.js';
import { busy, clearOnInput, errorBox, field, foodImage, messageSlot, pageTitle, removeRow, showFieldErrors, clearFieldErrors, toast } from '../ui.js';
import { reportsTab } from './community.js';
import { pairsTab } from './admin-pairs.js';

const TABS = ['foods', 'books', 'categories', 'pairs', 'reports'];
const MAX_UPLOAD = 10 * 1024 * 1024;
const listOf = (data) => (Array.isArray(data) ? data : data?.items || []);

export async function adminView(ctx) {
  ctx.setTitle(t('nav.admin'));
  if (!state.user) {
    ctx.redirect(loginHref());
    return h('div');
  }
  if (!state.user.is_admin) {
    return h('div', null, pageTitle(t('nav.admin')), h('div', { class: 'alert alert-error', role: 'alert' }, t('error.forbidden')));
  }
  const tab = TABS.includes(ctx.params.tab) ? ctx.params.tab : 'foods';
  const nav = h('nav', { class: 'tabs', 'aria-label': t('admin.sections') },
    TABS.map((name) => h('a', { href: `/admin/${name}`, 'aria-current': name === tab ? 'page' : null }, t(`admin.tab_${name}`))));
  const panel = h('div', { class: 'admin-panel' });
  const builders = { foods: foodsTab, books: booksTab, categories: categoriesTab, pairs: pairsTab, reports: reportsTab };
  await builders[tab](panel);
  return h('div', { class: 'admin' }, pageTitle(t('nav.admin')), nav, panel);
}

// ---------------------------------------------------------------- shared pieces

/** File input that uploads at once to /images and shows a preview; `onUploaded({key,url,width,height})`. */
export function imageUploader({ label, currentUrl = null, onUploaded, testid = 'image' }) {
  const id = uid('file');
  const input = h('input', { id, type: 'file', accept: 'image/jpeg,image/png,image/webp,image/gif', 'data-testid': `${testid}-file`, 'aria-describedby': `${id}-status` });
  const preview = h('img', { class: 'upload-preview', alt: t('admin.preview', { label }), 'data-testid': `${testid}-preview`, hidden: !currentUrl, src: currentUrl || null });
  const status = h('p', { class: 'hint', id: `${id}-status`, 'aria-live': 'polite' }, currentUrl ? t('admin.current_image') : t('admin.no_image'));
  const slot = messageSlot();
  const wrap = h('div', { class: 'field uploader' }, h('label', { for: id }, label), input, status, preview, slot);
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    slot.clear();
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      slot.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert' }, t('error.payload_too_large')));
      return;
    }
    const form = new FormData();
    form.append('file', file, file.name);
    input.disabled = true;
    wrap.setAttribute('aria-busy', 'true');
    replace(status, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('admin.uploading'));
    try {
      const image = await post('/images', form);
      preview.src = image.url;
      preview.hidden = false;
      status.textContent = t('admin.uploaded', { width: image.width, height: image.height });
      onUploaded(image);
    } catch (err) {
      status.textContent = '';
      slot.showError(err);
    } finally {
      input.disabled = false;
      wrap.removeAttribute('aria-busy');
    }
  });
  return wrap;
}

/** Search box over foods; calls `onPick(food)` when a result is chosen. */
export function foodPicker({ label, onPick, testid = 'food-picker' }) {
  const id = uid('pick');
  const input = h('input', { id, type: 'search', autocomplete: 'off', 'data-testid': testid, 'aria-controls': `${id}-results` });
  const results = h('ul', { class: 'pick-results', id: `${id}-results`, 'aria-live': 'polite' });
  let timer = null;
  let seq = 0;
  async function search() {
    const mine = ++seq;
    try {
      const page = await get(`/foods${query({ q: input.value.trim(), limit: 8 })}`);
      if (mine !== seq) return;
      const items = listOf(page);
      replace(results, items.length
        ? items.map((food) => h('li', null, h('button', { type: 'button', class: 'pick-result', onclick: () => onPick(food) },
            foodImage(food, { className: 'thumb', alt: false }), food.name)))
        : h('li', { class: 'empty' }, t('admin.no_results')));
    } catch (err) {
      replace(results, h('li', null, errorBox(err)));
    }
  }
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  input.addEventListener('focus', () => {
    if (!results.children.length) search();
  });
  // Enter searches at once; it must not submit the form the picker sits in.
  input.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    clearTimeout(timer);
    search();
  });
  return h('div', { class: 'field picker' }, h('label', { for: id }, label), input, results);
}

function confirmDelete(name) {
  return window.confirm(t('admin.confirm_delete', { name }));
}

// ---------------------------------------------------------------- foods

async function foodsTab(panel) {
  const categories = listOf(await get('/categories'));
  const editorSlot = h('div');
  const list = h('ul', { class: 'admin-list', 'data-testid': 'food-list' });
  const slot = messageSlot();
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  const searchId = uid('q');
  const search = h('input', { id: searchId, type: 'search', name: 'q', autocomplete: 'off' });
  let cursor = null;
  let timer = null;

  async function load(reset) {
    if (reset) {
      cursor = null;
      list.replaceChildren();
    }
    try {
      const page = await get(`/foods${query({ q: search.value.trim(), limit: 30, cursor, translations: true })}`);
      for (const food of listOf(page)) list.append(foodRow(food));
      if (!list.children.length) list.append(h('li', { class: 'empty' }, t('admin.no_results')));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      slot.clear();
    } catch (err) {
      slot.showError(err);
    }
  }

  function foodRow(food) {
    const edit = h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => openEditor(food) }, t('admin.edit'));
    const remove = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, t('admin.delete'));
    const li = h('li', { 'data-food-id': String(food.id) },
      foodImage(food, { className: 'thumb', alt: false }),
      h('span', { class: 'admin-item-text' }, h('strong', null, food.name), h('span', { class: 'meta' }, [food.description, (food.categories || []).join(', ')].filter(Boolean).join(' · '))),
      h('span', { class: 'admin-actions' }, edit, remove));
    remove.addEventListener('click', () => {
      if (!confirmDelete(food.name)) return;
      busy(remove, async () => {
        try {
          await del(`/foods/${food.id}`);
          removeRow(li, t('admin.no_results'));
          toast(t('admin.deleted', { name: food.name }));
        } catch (err) {
          slot.showError(err, { conflict: 'admin.in_use' });
        }
      });
    });
    return li;
  }

  function openEditor(food) {
    replace(editorSlot, foodEditor(food, categories, async (saved) => {
      editorSlot.replaceChildren();
      await load(true);
      // Show what was just saved even when it is not on the first page of the list.
      if (saved?.id && !list.querySelector(`[data-food-id="${saved.id}"]`)) {
        list.querySelector('.empty')?.remove();
        list.prepend(foodRow(saved));
      }
      list.querySelector(`[data-food-id="${saved?.id}"]`)?.classList.add('just-saved');
    }));
    editorSlot.querySelector('h2')?.focus();
  }

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(true), 250);
  });
  more.addEventListener('click', () => busy(more, () => load(false)));
  const add = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'new-food', onclick: () => openEditor(null) }, t('admin.new_food'));
  replace(panel,
    h('div', { class: 'section-head' }, h('h2', null, t('admin.tab_foods')), add),
    editorSlot,
    h('div', { class: 'field' }, h('label', { for: searchId }, t('admin.search_foods')), search),
    slot, list, more);
  await load(true);
}

function foodEditor(food, categories, done) {
  const editing = Boolean(food);
  // `name` is in the screen's language; the form edits each language's own text.
  const f = (name, opts) => field({ name, label: t(`field.${name}`), value: food?.[`${name}_ko`] ?? food?.[name] ?? '', ...opts });
  const name = f('name', { required: true, hint: t('hint.name'), attrs: { maxlength: '15' } });
  const description = f('description', { hint: t('hint.description'), attrs: { maxlength: '30' } });
  const details = f('details', { type: 'textarea', hint: t('hint.details'), attrs: { maxlength: '300', rows: '4' } });
  const nameEn = f('name_en', { hint: t('hint.english'), attrs: { maxlength: '40', lang: 'en' } });
  const descriptionEn = f('description_en', { attrs: { maxlength: '60', lang: 'en' } });
  const detailsEn = f('details_en', { type: 'textarea', attrs: { maxlength: '600', rows: '4', lang: 'en' } });
  const credit = f('credit', { hint: t('hint.credit'), attrs: { maxlength: '40' } });
  const altCredit = f('alt_credit', { attrs: { maxlength: '40' } });
  const chosen = new Set(food?.categories || []);
  const keys = {};
  const catBoxes = h('fieldset', { class: 'cat-boxes' }, h('legend', null, t('field.categories')),
    categories.length
      ? categories.map((c) => {
          const id = uid('cat');
          return h('span', { class: 'chip-option' },
            h('input', { type: 'checkbox', id, checked: chosen.has(c.name), onchange: (e) => (e.target.checked ? chosen.add(c.name) : chosen.delete(c.name)) }),
            h('label', { for: id }, c.name));
        })
      : h('p', { class: 'hint' }, t('admin.no_categories')));
  const image = imageUploader({ label: t('field.image'), currentUrl: food?.image_url, onUploaded: (img) => { keys.image_key = img.key; }, testid: 'food-image' });
  const altImage = imageUploader({ label: t('field.alt_image'), currentUrl: food?.alt_image_url, onUploaded: (img) => { keys.alt_image_key = img.key; }, testid: 'food-alt-image' });
  const errors = messageSlot();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-food' }, t('admin.save'));
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => form.remove() }, t('admin.cancel'));
  const form = h('form', {
    class: 'card editor',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      clearFieldErrors(form);
      const body = {
        name: name.input.value.trim(),
        description: description.input.value.trim(),
        details: details.input.value.trim(),
        name_en: nameEn.input.value.trim(),
        description_en: descriptionEn.input.value.trim(),
        details_en: detailsEn.input.value.trim(),
        credit: credit.input.value.trim(),
        alt_credit: altCredit.input.value.trim() || null,
        categories: [...chosen],
        ...keys,
      };
      busy(save, async () => {
        errors.clear();
        try {
          const saved = editing ? await patch(`/foods/${food.id}`, body) : await post('/foods', body);
          toast(t('admin.saved', { name: saved?.name || body.name }));
          done(saved);
        } catch (err) {
          errors.showError(err, { conflict: 'admin.name_taken' }, showFieldErrors(form, err));
        }
      });
    },
  },
  h('h2', { tabindex: '-1' }, editing ? t('admin.edit_food', { name: food.name }) : t('admin.new_food')),
  name.wrap, description.wrap, details.wrap, nameEn.wrap, descriptionEn.wrap, detailsEn.wrap,
  credit.wrap, catBoxes, image, altImage, altCredit.wrap,
  errors, h('div', { class: 'row' }, save, cancel));
  return form;
}

// ---------------------------------------------------------------- books

async function booksTab(panel) {
  const editorSlot = h('div');
  const list = h('ul', { class: 'admin-list' });
  const slot = messageSlot();

  async function load() {
    try {
      const books = listOf(await get('/books?translations=true'));
      replace(list, books.length ? books.map(bookRow) : h('li', { class: 'empty' }, t('home.no_books')));
    } catch (err) {
      slot.showError(err);
    }
  }
  function bookRow(book) {
    const edit = h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => openEditor(book) }, t('admin.edit'));
    const remove = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, t('admin.delete'));
    const li = h('li', null,
      book.cover_url ? h('img', { class: 'thumb', src: book.cover_url, alt: '' }) : h('span', { class: 'thumb img-placeholder', 'aria-hidden': 'true' }),
      h('span', { class: 'admin-item-text' }, h('strong', null, book.name),
        h('span', { class: 'meta' }, t('admin.book_meta', { priority: book.priority, foods: fmtNumber(book.food_count), plays: fmtNumber(book.play_count) }))),
      h('span', { class: 'admin-actions' }, edit, remove));
    remove.addEventListener('click', () => {
      if (!confirmDelete(book.name)) return;
      busy(remove, async () => {
        try {
          await del(`/books/${book.id}`);
          removeRow(li, t('home.no_books'));
          toast(t('admin.deleted', { name: book.name }));
        } catch (err) {
          slot.showError(err);
        }
      });
    });
    return li;
  }
  function openEditor(book) {
    replace(editorSlot, bookEditor(book, () => {
      editorSlot.replaceChildren();
      load();
    }));
    editorSlot.querySelector('h2')?.focus();
  }
  const add = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => openEditor(null) }, t('admin.new_book'));
  replace(panel, h('div', { class: 'section-head' }, h('h2', null, t('admin.tab_books')), add), editorSlot, slot, list);
  await load();
}

/** One form for a book: name, order, cover and its foods, all kept by a single save. */
function bookEditor(book, done) {
  const editing = Boolean(book);
  const name = field({ name: 'name', label: t('field.book_name'), value: book?.name_ko ?? book?.name ?? '', required: true, attrs: { maxlength: '30' } });
  const nameEn = field({ name: 'name_en', label: t('field.book_name_en'), value: book?.name_en ?? '', hint: t('hint.english'), attrs: { maxlength: '60', lang: 'en' } });
  const about = field({ name: 'description', label: t('field.book_description'), value: book?.description_ko ?? book?.description ?? '', attrs: { maxlength: '200' } });
  const aboutEn = field({ name: 'description_en', label: t('field.book_description_en'), value: book?.description_en ?? '', attrs: { maxlength: '400', lang: 'en' } });
  const priority = field({ name: 'priority', label: t('field.priority'), type: 'number', value: book?.priority ?? 0, hint: t('hint.priority'), attrs: { step: '1' } });
  const keys = {};
  const cover = imageUploader({ label: t('field.cover'), currentUrl: book?.cover_url, onUploaded: (img) => { keys.cover_key = img.key; }, testid: 'book-cover' });
  const members = membersField(book);
  const errors = messageSlot();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-book' }, t('admin.save'));
  const form = h('form', {
    class: 'card editor',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      clearFieldErrors(form);
      const body = { name: name.input.value.trim(), name_en: nameEn.input.value.trim(), description: about.input.value.trim(), description_en: aboutEn.input.value.trim(), priority: Number.parseInt(priority.input.value, 10) || 0, ...keys };
      const foodIds = members.ids();
      busy(save, async () => {
        errors.clear();
        try {
          let saved;
          if (editing) {
            await patch(`/books/${book.id}`, body);
            saved = await put(`/books/${book.id}/foods`, { food_ids: foodIds });
          } else {
            saved = await post('/books', { ...body, food_ids: foodIds });
          }
          toast(t('admin.book_saved', { name: body.name, n: foodIds.length }));
          done(saved);
        } catch (err) {
          errors.showError(err, { conflict: 'admin.name_taken' }, showFieldErrors(form, err));
        }
      });
    },
  },
  h('h2', { tabindex: '-1' }, editing ? t('admin.edit_book', { name: book.name }) : t('admin.new_book')),
  name.wrap, nameEn.wrap, about.wrap, aboutEn.wrap, priority.wrap, cover, members.element, errors,
  h('div', { class: 'row' }, save, h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => form.remove() }, t('admin.cancel'))));
  clearOnInput(form, errors);
  return form;
}

/** The foods of a book being edited: found by search, removed with ×; `ids()` for the save. */
function membersField(book) {
  const members = new Map();
  const list = h('ul', { class: 'member-list', 'aria-live': 'polite' });
  const legend = h('legend', null);
  const slot = messageSlot();
  function render() {
    const foods = [...members.values()].sort((a, b) => a.name.localeCompare(b.name));
    replace(list, foods.length
      ? foods.map((food) => h('li', { class: 'chip member' }, food.name,
          h('button', { type: 'button', class: 'chip-remove', 'aria-label': t('admin.remove_member', { name: food.name }), onclick: () => { members.delete(food.id); render(); } }, '×')))
      : h('li', { class: 'empty' }, t('book.no_foods')));
    legend.textContent = t('admin.members_of_book', { n: fmtNumber(members.size) });
  }
  if (book) {
    get(`/books/${book.id}`).then((full) => {
      for (const food of full.foods || []) members.set(food.id, food);
      render();
    }).catch((err) => slot.showError(err));
  }
  render();
  const element = h('fieldset', { class: 'members' }, legend,
    foodPicker({ label: t('admin.add_member'), onPick: (food) => { members.set(food.id, food); render(); } }),
    list, slot);
  return { element, ids: () => [...members.keys()] };
}

// ---------------------------------------------------------------- categories

async function categoriesTab(panel) {
  const list = h('ul', { class: 'admin-list' });
  const slot = messageSlot();
  async function load() {
    try {
      const categories = listOf(await get('/categories?translations=true'));
      replace(list, categories.length ? categories.map(row) : h('li', { class: 'empty' }, t('admin.no_categories')));
    } catch (err) {
      slot.showError(err);
    }
  }
  function row(c) {
    const remove = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, t('admin.delete'));
    const li = h('li', null, h('span', { class: 'admin-item-text' }, h('strong', null, c.name_ko ?? c.name), h('span', { class: 'meta' }, [c.name_en, t('admin.food_count', { n: fmtNumber(c.food_count ?? 0) })].filter(Boolean).join(' · '))), h('span', { class: 'admin-actions' }, remove));
    remove.addEventListener('click', () => {
      if (!confirmDelete(c.name)) return;
      busy(remove, async () => {
        try {
          await del(`/categories/${c.id}`);
          removeRow(li, t('admin.no_categories'));
        } catch (err) {
          slot.showError(err);
        }
      });
    });
    return li;
  }
  const name = field({ name: 'name', label: t('field.category_name'), required: true, hint: t('hint.name'), attrs: { maxlength: '15' } });
  const nameEn = field({ name: 'name_en', label: t('field.category_name_en'), hint: t('hint.english'), attrs: { maxlength: '30', lang: 'en' } });
  const add = h('button', { type: 'submit', class: 'btn btn-primary' }, t('admin.add'));
  const errors = messageSlot();
  const form = h('form', {
    class: 'card editor',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      clearFieldErrors(form);
      busy(add, async () => {
        errors.clear();
        try {
          await post('/categories', { name: name.input.value.trim(), name_en: nameEn.input.value.trim() });
          name.input.value = '';
          nameEn.input.value = '';
          await load();
        } catch (err) {
          errors.showError(err, { conflict: 'admin.name_taken' }, showFieldErrors(form, err));
        }
      });
    },
  }, h('h2', null, t('admin.new_category')), name.wrap, nameEn.wrap, errors, add);
  replace(panel, form, slot, list);
  await load();
}
