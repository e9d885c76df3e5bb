-- Headless Neovim (0.7: vim.lsp.start_client) drives `perforch lsp` through one Optimize job:
-- code actions at a function, the "choose model" action, the model question answered, progress
-- and job events recorded, the annotated edit applied to the buffer. Writes what happened as
-- JSON to $PERFORCH_NVIM_OUT and quits; a watchdog quits on any hang.
local env = vim.env
local out = { progress = {}, events = {}, questions = {}, edits = {}, messages = {}, errors = {} }
local done = false

local function finish()
  if done then return end
  done = true
  out.final_text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n") .. "\n"
  vim.fn.writefile({ vim.fn.json_encode(out) }, env.PERFORCH_NVIM_OUT)
  vim.cmd("qall!")
end

vim.defer_fn(function()
  table.insert(out.errors, "watchdog: no end of progress in time")
  finish()
end, tonumber(env.PERFORCH_NVIM_WATCHDOG_MS or "540000"))

local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(env.PERFORCH_NVIM_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = "perforch",
    cmd = { env.PERFORCH_NVIM_PYTHON, "-P", "-m", "server", "lsp" },
    root_dir = vim.fn.fnamemodify(env.PERFORCH_NVIM_FILE, ":h"),
    init_options = { memoryPath = env.PERFORCH_NVIM_MEMORY },
    handlers = {
      ["$/progress"] = function(_, result)
        table.insert(out.progress, result.value)
        if result.value.kind == "end" then
          vim.defer_fn(finish, 300) -- let the applied edit settle in the buffer
        end
      end,
      ["perforch/jobEvent"] = function(_, result)
        table.insert(out.events, result.event)
      end,
      ["window/showMessageRequest"] = function(_, result)
        table.insert(out.questions, result)
        for _, action in ipairs(result.actions or {}) do
          if vim.startswith(action.title, env.PERFORCH_NVIM_PICK .. " ") then
            return action
          end
        end
        return vim.NIL
      end,
      ["workspace/applyEdit"] = function(_, result)
        table.insert(out.edits, result)
        vim.lsp.util.apply_workspace_edit(result.edit, "utf-16")
        return { applied = true }
      end,
      ["window/showMessage"] = function(_, result)
        table.insert(out.messages, result.message)
      end,
    },
    on_init = function(client)
      vim.defer_fn(function()
        local params = {
          textDocument = { uri = vim.uri_from_bufnr(bufnr) },
          range = {
            start = { line = tonumber(env.PERFORCH_NVIM_LINE), character = 4 },
            ["end"] = { line = tonumber(env.PERFORCH_NVIM_LINE), character = 4 },
          },
          context = { diagnostics = {} },
        }
        client.request("textDocument/codeAction", params, function(e, actions)
          if e then table.insert(out.errors, vim.inspect(e)); finish(); return end
          out.actions = {}
          local chosen = nil
          for _, a in ipairs(actions or {}) do
            table.insert(out.actions, a.title)
            if a.title == env.PERFORCH_NVIM_ACTION then chosen = a end
          end
          if not chosen then
            table.insert(out.errors, "action not offered: " .. env.PERFORCH_NVIM_ACTION)
            finish()
            return
          end
          client.request("workspace/executeCommand", chosen.command, function(e2, reply)
            if e2 then table.insert(out.errors, vim.inspect(e2)); finish(); return end
            out.reply = reply
          end, bufnr)
        end, bufnr)
      end, 500)
    end,
  })
  vim.lsp.buf_attach_client(bufnr, client_id)
end)
if not ok then
  table.insert(out.errors, tostring(err))
  finish()
end
